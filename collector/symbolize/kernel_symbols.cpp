#include "symbolize/kernel_symbols.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include <fmt/format.h>

namespace kscope {
namespace {

Result<std::string> read_all(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("open {}", path), errno);
  std::string text;
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  int err = errno;
  close(fd);
  if (n < 0) return fail_errno(fmt::format("read {}", path), err);
  return text;
}

// t/T: text; w/W: weak symbols, text too in kallsyms.
bool is_text(char type) { return type == 't' || type == 'T' || type == 'w' || type == 'W'; }

}  // namespace

Result<KernelSymbols> KernelSymbols::load(const std::string& path) {
  auto text = read_all(path);
  if (!text) return std::unexpected(text.error());
  std::vector<std::pair<uint64_t, uint32_t>> entries;  // (addr, name offset)
  KernelSymbols ks;
  bool any_address = false;
  std::string_view rest = *text;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t name\t[module]"
    uint64_t addr = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), addr, 16);
    size_t at = static_cast<size_t>(p - line.data());
    if (ec != std::errc() || at + 3 > line.size() || line[at] != ' ' || line[at + 2] != ' ') continue;
    any_address = any_address || addr != 0;
    if (!is_text(line[at + 1])) continue;
    std::string_view name = line.substr(at + 3);
    name = name.substr(0, name.find('\t'));
    entries.emplace_back(addr, static_cast<uint32_t>(ks.pool_.size()));
    ks.pool_.append(name);
    ks.pool_.push_back('\0');
  }
  if (!any_address)
    return fail(fmt::format("{} shows no addresses", path),
                "kernel.kptr_restrict hides them: run as root, or sysctl kernel.kptr_restrict=0");
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  ks.addrs_.reserve(entries.size());
  ks.names_.reserve(entries.size());
  for (const auto& [addr, name] : entries) {
    ks.addrs_.push_back(addr);
    ks.names_.push_back(name);
  }
  return ks;
}

std::optional<KernelSymbol> KernelSymbols::symbol_at(uint64_t addr) const {
  auto it = std::upper_bound(addrs_.begin(), addrs_.end(), addr);
  if (it == addrs_.begin()) return std::nullopt;
  size_t i = static_cast<size_t>(it - addrs_.begin()) - 1;
  return KernelSymbol{pool_.c_str() + names_[i], addrs_[i]};
}

}  // namespace kscope

#include "symbolize/process_maps.h"

#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace kscope {
namespace {

// Reads one hexadecimal number from the front of `s` and the separator after it.
bool take_hex(std::string_view& s, uint64_t& v, char sep) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || p == s.data() + s.size() || *p != sep) return false;
  s.remove_prefix(static_cast<size_t>(p - s.data()) + 1);
  return true;
}

bool take_word(std::string_view& s, std::string_view& word) {
  size_t end = s.find(' ');
  if (end == std::string_view::npos) return false;
  word = s.substr(0, end);
  s.remove_prefix(end + 1);
  return true;
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

}  // namespace

// "55d0c2a00000-55d0c2a02000 r-xp 00002000 fd:01 1234   /usr/bin/x"
std::vector<Mapping> parse_maps(std::string_view text) {
  std::vector<Mapping> maps;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    Mapping m;
    std::string_view perms;
    uint64_t major = 0, minor = 0;
    if (!take_hex(line, m.start, '-') || !take_hex(line, m.end, ' ') || !take_word(line, perms) ||
        !take_hex(line, m.offset, ' ') || !take_hex(line, major, ':') ||
        !take_hex(line, minor, ' '))
      continue;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), m.inode);
    if (ec != std::errc()) continue;
    line.remove_prefix(static_cast<size_t>(p - line.data()));
    line.remove_prefix(std::min(line.find_first_not_of(' '), line.size()));
    m.dev = makedev(major, minor);
    m.path = line;
    maps.push_back(std::move(m));
  }
  return maps;
}

Result<std::vector<Mapping>> read_maps(const std::string& proc_dir) {
  auto text = read_text(proc_dir + "/maps");
  if (!text) return fail_errno(fmt::format("read {}/maps", proc_dir), errno);
  return parse_maps(*text);
}

const Mapping* mapping_at(const std::vector<Mapping>& maps, uint64_t addr) {
  auto it = std::upper_bound(maps.begin(), maps.end(), addr,
                             [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == maps.begin()) return nullptr;
  const Mapping& m = *std::prev(it);
  return addr < m.end ? &m : nullptr;
}

std::optional<uint64_t> start_ticks(const std::string& proc_dir) {
  auto stat = read_text(proc_dir + "/stat");
  if (!stat) return std::nullopt;
  // The name in parentheses may hold spaces and parentheses: fields follow the last ')'.
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i)  // field 3 (state) first; stops on field 22
    if (!(fields >> field)) return std::nullopt;
  uint64_t ticks = 0;
  auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), ticks);
  if (ec != std::errc() || p != field.data() + field.size()) return std::nullopt;
  return ticks;
}

uint64_t ticks_of_ns(uint64_t ns) {
  static const uint64_t ticks_per_s = static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  return ns / (1'000'000'000 / ticks_per_s);
}

}  // namespace kscope

#include "symbolize/symbolizer.h"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include "base/log.h"

namespace kscope {

std::string unknown_frame(uint64_t addr) { return fmt::format("[unknown] {:#x}", addr); }

Symbolizer::Symbolizer(size_t max_elf_files, std::string proc, std::string kallsyms)
    : max_files_(max_elf_files ? max_elf_files : 1),
      proc_(std::move(proc)),
      kallsyms_path_(std::move(kallsyms)) {}

std::string Symbolizer::kernel_frame(uint64_t addr, bool leaf) {
  if (!kallsyms_ && !kallsyms_failed_) {
    auto ks = KernelSymbols::load(kallsyms_path_);
    if (ks) {
      kallsyms_ = std::move(*ks);
    } else {
      kallsyms_failed_ = true;
      log::warn("kernel frames stay addresses: {} ({})", ks.error().message, ks.error().hint);
    }
  }
  auto sym = kallsyms_ ? kallsyms_->symbol_at(leaf ? addr : addr - 1) : std::nullopt;
  return sym ? std::string(sym->name) : unknown_frame(addr);
}

Symbolizer::Process Symbolizer::process(uint32_t pid, uint64_t start_ns) {
  Process p(*this, pid);
  std::string dir = fmt::format("{}/{}", proc_, pid);
  auto ticks = start_ticks(dir);
  if (!ticks || (start_ns && *ticks != ticks_of_ns(start_ns))) return p;
  auto maps = read_maps(dir);
  if (!maps) return p;
  p.maps_ = std::move(*maps);
  p.alive_ = true;
  return p;
}

std::string Symbolizer::Process::frame(uint64_t addr, bool leaf) {
  uint64_t at = leaf ? addr : addr - 1;
  const Mapping* m = alive_ ? mapping_at(maps_, at) : nullptr;
  if (!m) return unknown_frame(addr);
  if (!m->inode) return m->path.starts_with('[') ? m->path : unknown_frame(addr);
  if (const ElfSymbols* elf = sym_.elf_of(pid_, *m))
    if (auto vaddr = elf->vaddr_of_offset(at - m->start + m->offset))
      if (auto name = elf->function_at(*vaddr); !name.empty()) return std::string(name);
  std::string_view base = m->path;
  base.remove_prefix(base.rfind('/') + 1);  // npos + 1 == 0: no slash
  return fmt::format("[{}]", base);
}

const ElfSymbols* Symbolizer::elf_of(uint32_t pid, const Mapping& m) {
  FileKey key{m.dev, m.inode};
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second.get();
  }
  // map_files reaches the very file mapped, in the process's mount namespace and even when
  // it was deleted or replaced since; the path through its root is the fallback.
  std::string dir = fmt::format("{}/{}", proc_, pid);
  int fd = open(fmt::format("{}/map_files/{:x}-{:x}", dir, m.start, m.end).c_str(),
                O_RDONLY | O_CLOEXEC);
  if (fd < 0) fd = open((dir + "/root" + m.path).c_str(), O_RDONLY | O_CLOEXEC);
  std::unique_ptr<ElfSymbols> elf;
  if (fd >= 0) {
    auto read = ElfSymbols::read(fd, m.path);
    close(fd);
    if (read) elf = std::make_unique<ElfSymbols>(std::move(*read));
    else log::debug("no symbols for {}: {}", m.path, read.error().message);
  }
  lru_.emplace_front(key, std::move(elf));
  index_[key] = lru_.begin();
  if (lru_.size() > max_files_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return lru_.front().second.get();
}

}  // namespace kscope

#include "symbolize/elf_symbols.h"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace kscope {
namespace {

// A read-only mapping of a whole file, unmapped on scope exit.
struct FileMap {
  const unsigned char* data = nullptr;
  size_t size = 0;
  ~FileMap() {
    if (data) munmap(const_cast<unsigned char*>(data), size);
  }
};

// The table of `count` entries of T at `offset`, if the file holds all of it.
template <class T>
const T* table_at(const unsigned char* data, size_t size, uint64_t offset, uint64_t count) {
  if (offset > size || count > (size - offset) / sizeof(T)) return nullptr;
  return reinterpret_cast<const T*>(data + offset);
}

int binding_rank(uint8_t binding) {
  switch (binding) {
    case STB_GLOBAL: return 0;
    case STB_WEAK: return 1;
    default: return 2;
  }
}

size_t leading_underscores(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && s[n] == '_') ++n;
  return n;
}

}  // namespace

template <class Ehdr, class Shdr, class Phdr, class Sym>
ElfSymbols ElfSymbols::parse(const unsigned char* data, size_t size) {
  ElfSymbols elf;
  Ehdr eh;
  std::memcpy(&eh, data, sizeof(eh));
  if (eh.e_phentsize == sizeof(Phdr))
    if (const Phdr* ph = table_at<Phdr>(data, size, eh.e_phoff, eh.e_phnum))
      for (size_t i = 0; i < eh.e_phnum; ++i)
        if (ph[i].p_type == PT_LOAD)
          elf.segments_.push_back({ph[i].p_offset, ph[i].p_vaddr, ph[i].p_filesz});
  const Shdr* sh = eh.e_shentsize == sizeof(Shdr)
                       ? table_at<Shdr>(data, size, eh.e_shoff, eh.e_shnum)
                       : nullptr;
  if (!sh) return elf;  // no section headers (stripped hard): segments only
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    if (sh[i].sh_type != SHT_SYMTAB && sh[i].sh_type != SHT_DYNSYM) continue;
    if (sh[i].sh_link >= eh.e_shnum || sh[i].sh_entsize != sizeof(Sym)) continue;
    const Shdr& strtab = sh[sh[i].sh_link];
    const Sym* syms = table_at<Sym>(data, size, sh[i].sh_offset, sh[i].sh_size / sizeof(Sym));
    const char* strs = table_at<char>(data, size, strtab.sh_offset, strtab.sh_size);
    if (!syms || !strs) continue;
    for (size_t k = 0; k < sh[i].sh_size / sizeof(Sym); ++k) {
      const Sym& s = syms[k];
      unsigned type = s.st_info & 0xf;
      if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF || !s.st_value ||
          s.st_name >= strtab.sh_size)
        continue;
      const char* name = strs + s.st_name;
      elf.add_symbol(s.st_value, s.st_size, {name, strnlen(name, strtab.sh_size - s.st_name)},
                     static_cast<uint8_t>(s.st_info >> 4));
    }
  }
  elf.sort();
  return elf;
}

Result<ElfSymbols> ElfSymbols::read(int fd, std::string_view path) {
  struct stat st;
  if (fstat(fd, &st) != 0) return fail_errno(fmt::format("stat {}", path), errno);
  if (!S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr)))
    return fail(fmt::format("{}: not an ELF file", path));
  FileMap map;
  map.size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, map.size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return fail_errno(fmt::format("map {}", path), errno);
  map.data = static_cast<const unsigned char*>(p);
  const unsigned char* id = map.data;
  if (std::memcmp(id, ELFMAG, SELFMAG) != 0 || id[EI_DATA] != ELFDATA2LSB)
    return fail(fmt::format("{}: not a little-endian ELF file", path));
  if (id[EI_CLASS] == ELFCLASS64)
    return parse<Elf64_Ehdr, Elf64_Shdr, Elf64_Phdr, Elf64_Sym>(map.data, map.size);
  if (id[EI_CLASS] == ELFCLASS32)
    return parse<Elf32_Ehdr, Elf32_Shdr, Elf32_Phdr, Elf32_Sym>(map.data, map.size);
  return fail(fmt::format("{}: unknown ELF class {}", path, id[EI_CLASS]));
}

Result<ElfSymbols> ElfSymbols::read_path(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("open {}", path), errno);
  auto elf = read(fd, path);
  close(fd);
  return elf;
}

void ElfSymbols::add_symbol(uint64_t addr, uint64_t size, std::string_view name, uint8_t binding) {
  symbols_.push_back({addr, size, static_cast<uint32_t>(names_.size()), binding});
  names_.append(name);
  names_.push_back('\0');
}

// Sorts by address and keeps one symbol an address: the better-named alias, with the
// largest size any alias gave.
void ElfSymbols::sort() {
  auto name = [&](const Symbol& s) { return std::string_view(names_.c_str() + s.name); };
  auto better = [&](const Symbol& a, const Symbol& b) {
    if (binding_rank(a.binding) != binding_rank(b.binding))
      return binding_rank(a.binding) < binding_rank(b.binding);
    std::string_view na = name(a), nb = name(b);
    if (leading_underscores(na) != leading_underscores(nb))
      return leading_underscores(na) < leading_underscores(nb);
    if (na.size() != nb.size()) return na.size() < nb.size();
    return na < nb;
  };
  std::sort(symbols_.begin(), symbols_.end(), [&](const Symbol& a, const Symbol& b) {
    return a.addr != b.addr ? a.addr < b.addr : better(a, b);
  });
  std::vector<Symbol> unique;
  for (const Symbol& s : symbols_) {
    if (!unique.empty() && unique.back().addr == s.addr)
      unique.back().size = std::max(unique.back().size, s.size);
    else
      unique.push_back(s);
  }
  symbols_ = std::move(unique);
}

std::optional<uint64_t> ElfSymbols::vaddr_of_offset(uint64_t offset) const {
  for (const Segment& s : segments_)
    if (offset >= s.offset && offset - s.offset < s.filesz) return offset - s.offset + s.vaddr;
  return std::nullopt;
}

std::string_view ElfSymbols::function_at(uint64_t vaddr) const {
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                             [](uint64_t v, const Symbol& s) { return v < s.addr; });
  if (it == symbols_.begin()) return {};
  const Symbol& s = *std::prev(it);
  if (vaddr - s.addr >= std::max<uint64_t>(s.size, 1)) return {};
  std::string_view raw(names_.c_str() + s.name);
  if (!raw.starts_with("_Z")) return raw;
  auto cached = demangled_.find(s.name);
  if (cached != demangled_.end()) return cached->second;
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> d(
      abi::__cxa_demangle(raw.data(), nullptr, nullptr, &status), &std::free);
  return demangled_.emplace(s.name, status == 0 && d ? std::string(d.get()) : std::string(raw))
      .first->second;
}

}  // namespace kscope

// The function symbols of one ELF file (.symtab and .dynsym), and its loadable segments, so
// that an address a process has mapped from the file can be named: the mapping gives the
// file offset, the segments turn it into the ELF's own virtual address (which handles PIE
// executables and shared libraries alike), and the symbols name that address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace kscope {

class ElfSymbols {
 public:
  // Reads the file open at `fd` (not kept open); `path` names it in errors. 64- and 32-bit
  // little-endian ELF. A file without symbols is no error: it names nothing.
  static Result<ElfSymbols> read(int fd, std::string_view path);
  static Result<ElfSymbols> read_path(const std::string& path);

  // The ELF virtual address of file offset `offset`, through the PT_LOAD segment that
  // holds it; nothing when no segment loads that byte.
  std::optional<uint64_t> vaddr_of_offset(uint64_t offset) const;
  // The name of the function whose [value, value + size) holds `vaddr`, C++ names
  // demangled; empty when none does. Aliases at one address resolve to one name: global
  // before weak before local, then the one with fewer leading underscores, then the shorter.
  std::string_view function_at(uint64_t vaddr) const;
  size_t size() const { return symbols_.size(); }

 private:
  struct Symbol {
    uint64_t addr, size;
    uint32_t name;  // offset in names_
    uint8_t binding;
  };
  struct Segment {
    uint64_t offset, vaddr, filesz;
  };
  template <class Ehdr, class Shdr, class Phdr, class Sym>
  static ElfSymbols parse(const unsigned char* data, size_t size);
  void add_symbol(uint64_t addr, uint64_t size, std::string_view name, uint8_t binding);
  void sort();

  std::vector<Symbol> symbols_;  // sorted by addr, one per address
  std::vector<Segment> segments_;
  std::string names_;  // NUL-terminated names
  mutable std::unordered_map<uint32_t, std::string> demangled_;  // by name offset
};

}  // namespace kscope

// Names for the addresses of sampled stacks: kernel addresses through /proc/kallsyms,
// user addresses through the ELF symbol tables of the files the process has mapped. The
// ELF files' symbols are kept in a least-recently-used cache of at most `max_elf_files`
// files, keyed by device and inode, so a long profile of many processes holds a bounded
// amount of memory and reads each library once while it stays in use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "symbolize/elf_symbols.h"
#include "symbolize/kernel_symbols.h"
#include "symbolize/process_maps.h"

namespace kscope {

inline constexpr size_t kDefaultElfFiles = 64;

class Symbolizer {
 public:
  // `proc`: where /proc is (tests point it elsewhere); `kallsyms` likewise.
  explicit Symbolizer(size_t max_elf_files = kDefaultElfFiles, std::string proc = "/proc",
                      std::string kallsyms = "/proc/kallsyms");

  // A kernel stack's frame: the function's name, or "[unknown] 0x..." when kallsyms has
  // none (or cannot be read: warned once). `leaf`: the sampled instruction itself; the
  // other frames are return addresses, looked up one byte back so that a call at the very
  // end of a function is named after that function, not the next one.
  std::string kernel_frame(uint64_t addr, bool leaf);

  // One process as it is now: its mappings, read once for all of its stacks.
  class Process {
   public:
    // Whether the process the samples came from is still there (not exited, pid not reused).
    bool alive() const { return alive_; }
    // A user stack's frame: the function's name, "[libc.so.6]" for a mapped file without
    // a symbol there, the kernel's name for "[vdso]" and the like, or "[unknown] 0x..." for
    // an address of no mapping, or of a process that is gone.
    std::string frame(uint64_t addr, bool leaf);

   private:
    friend class Symbolizer;
    Process(Symbolizer& s, uint32_t pid) : sym_(s), pid_(pid) {}
    Symbolizer& sym_;
    uint32_t pid_;
    bool alive_ = false;
    std::vector<Mapping> maps_;
  };
  // `start_ns`: the process's start (CLOCK_BOOTTIME) when sampled, to tell a reused pid
  // apart; 0 to skip that check.
  Process process(uint32_t pid, uint64_t start_ns);

  size_t cached_files() const { return lru_.size(); }

 private:
  using FileKey = std::pair<uint64_t, uint64_t>;  // (dev, inode)
  // The symbols of the file `m` maps in process `pid`, from the cache or read now; null when
  // the file cannot be read as ELF (remembered too, so it is not retried every frame).
  const ElfSymbols* elf_of(uint32_t pid, const Mapping& m);

  size_t max_files_;
  std::string proc_, kallsyms_path_;
  std::optional<KernelSymbols> kallsyms_;
  bool kallsyms_failed_ = false;
  std::list<std::pair<FileKey, std::unique_ptr<ElfSymbols>>> lru_;  // most recent first
  std::map<FileKey, decltype(lru_)::iterator> index_;
};

// "[unknown] 0x7f12..." for an address nothing names.
std::string unknown_frame(uint64_t addr);

}  // namespace kscope

// The symbolizer on real ELF files: a testprog the tree builds (another process, a PIE), this
// test binary itself (C++ names demangled), libc (a shared library's .dynsym, aliases), a
// process that is gone, a reused pid, the bounded cache; and the maps and kallsyms parsers
// on fixed text. Exact names throughout.
#include <dlfcn.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "../testprogs/profile_known_child.h"
#include "symbolize/symbolizer.h"

extern "C" __attribute__((noinline)) int kscope_symbolize_marker(int x) { return x * 3 + 1; }

namespace kscope_symbolize_test {
__attribute__((noinline)) int demangle_me(int x, const char* s) { return x + (s ? s[0] : 0); }
}  // namespace kscope_symbolize_test

namespace kscope {
namespace {

uint64_t addr_of(const void* f) { return reinterpret_cast<uint64_t>(f); }

// libc's own qsort: &qsort names the sanitizer build's interceptor in this binary instead.
uint64_t libc_qsort() {
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  void* f = libc ? dlsym(libc, "qsort") : nullptr;
  if (libc) dlclose(libc);
  return addr_of(f);
}

TEST(Symbolizer, NamesAnotherProcesssFunctionsExactly) {
  test::ProfileKnown child(KSCOPE_TESTPROGS_DIR, 0, 0);
  ASSERT_GT(child.pid(), 0) << "profile_known did not start";
  Symbolizer sym;
  auto p = sym.process(child.pid(), 0);
  ASSERT_TRUE(p.alive());
  EXPECT_EQ(p.frame(child.spin_addr(), true), "kscope_profile_spin");
  EXPECT_EQ(p.frame(child.spin_addr() + 7, true), "kscope_profile_spin");
  EXPECT_EQ(p.frame(child.main_addr(), true), "main");
  // A return address just past main's first byte is looked up one byte back: main.
  EXPECT_EQ(p.frame(child.main_addr() + 1, false), "main");
  // The byte before main belongs to another function (or none): never main.
  EXPECT_NE(p.frame(child.main_addr() - 1, true), "main");
}

TEST(Symbolizer, NamesThisBinaryDemangledAndLibcByItsDynamicSymbols) {
  Symbolizer sym;
  auto p = sym.process(getpid(), 0);
  ASSERT_TRUE(p.alive());
  EXPECT_EQ(p.frame(addr_of(reinterpret_cast<const void*>(&kscope_symbolize_marker)), true),
            "kscope_symbolize_marker");
  EXPECT_EQ(p.frame(addr_of(reinterpret_cast<const void*>(&kscope_symbolize_test::demangle_me)), true),
            "kscope_symbolize_test::demangle_me(int, char const*)");
  // libc keeps only .dynsym: qsort is one global symbol; getpid is a weak alias of the
  // global __getpid, and the global one names the address.
  ASSERT_NE(libc_qsort(), 0u);
  EXPECT_EQ(p.frame(libc_qsort(), true), "qsort");
  EXPECT_EQ(p.frame(addr_of(reinterpret_cast<const void*>(&getpid)), true), "__getpid");
}

TEST(Symbolizer, AGoneProcessKeepsItsAddressesAsUnknown) {
  test::ProfileKnown child(KSCOPE_TESTPROGS_DIR, 0, 0);
  ASSERT_GT(child.pid(), 0);
  uint64_t spin = child.spin_addr();
  pid_t pid = child.pid();
  child.end();
  Symbolizer sym;
  auto p = sym.process(pid, 0);
  EXPECT_FALSE(p.alive());
  EXPECT_EQ(p.frame(spin, true), fmt::format("[unknown] {:#x}", spin));
}

TEST(Symbolizer, AReusedPidIsNotTheSampledProcess) {
  Symbolizer sym;
  // This process's real start in ns, from its start in clock ticks.
  auto ticks = start_ticks("/proc/self");
  ASSERT_TRUE(ticks);
  uint64_t ns_per_tick = 1'000'000'000 / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  EXPECT_TRUE(sym.process(getpid(), *ticks * ns_per_tick + 1).alive());
  EXPECT_FALSE(sym.process(getpid(), (*ticks + 1) * ns_per_tick).alive());
}

TEST(Symbolizer, KeepsAtMostItsBoundOfElfFiles) {
  Symbolizer sym(2);
  auto p = sym.process(getpid(), 0);
  ASSERT_TRUE(p.alive());
  uint64_t marker = addr_of(reinterpret_cast<const void*>(&kscope_symbolize_marker));
  uint64_t libc = libc_qsort();
  ASSERT_NE(libc, 0u);
  // A third file: the dynamic loader, or libstdc++, whichever holds std::terminate.
  uint64_t other = addr_of(reinterpret_cast<const void*>(&std::terminate));
  EXPECT_EQ(p.frame(marker, true), "kscope_symbolize_marker");
  EXPECT_EQ(p.frame(libc, true), "qsort");
  EXPECT_EQ(p.frame(other, true), "std::terminate()");
  EXPECT_EQ(sym.cached_files(), 2u);
  EXPECT_EQ(p.frame(marker, true), "kscope_symbolize_marker");  // read again after eviction
  EXPECT_EQ(sym.cached_files(), 2u);
}

TEST(ElfSymbols, ReadsSymbolsAndRefusesWhatIsNotElf) {
  auto elf = ElfSymbols::read_path(std::string(KSCOPE_TESTPROGS_DIR) + "/profile_known");
  ASSERT_TRUE(elf) << elf.error().message;
  EXPECT_GE(elf->size(), 3u);  // main, kscope_profile_spin, kscope_profile_read_zero at least
  EXPECT_FALSE(ElfSymbols::read_path("/proc/self/status").has_value());
  EXPECT_FALSE(ElfSymbols::read_path("/no/such/file").has_value());
}

TEST(ProcessMaps, ParsesEveryField) {
  auto maps = parse_maps(
      "55d0c2a00000-55d0c2a02000 r-xp 00002000 fd:01 1234                       /usr/bin/x y\n"
      "7ffd1c3e0000-7ffd1c401000 rw-p 00000000 00:00 0                          [stack]\n"
      "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
      "garbage\n"
      "7f1000000000-7f1000002000 r-xp 00001000 103:02 99 /tmp/lib.so (deleted)");
  ASSERT_EQ(maps.size(), 4u);
  EXPECT_EQ(maps[0].start, 0x55d0c2a00000u);
  EXPECT_EQ(maps[0].end, 0x55d0c2a02000u);
  EXPECT_EQ(maps[0].offset, 0x2000u);
  EXPECT_EQ(maps[0].dev, makedev(0xfd, 1));
  EXPECT_EQ(maps[0].inode, 1234u);
  EXPECT_EQ(maps[0].path, "/usr/bin/x y");
  EXPECT_EQ(maps[1].path, "[stack]");
  EXPECT_EQ(maps[2].path, "");
  EXPECT_EQ(maps[3].dev, makedev(0x103, 2));
  EXPECT_EQ(maps[3].path, "/tmp/lib.so (deleted)");
  EXPECT_EQ(mapping_at(maps, 0x55d0c2a01fffu), &maps[0]);
  EXPECT_EQ(mapping_at(maps, 0x55d0c2a02000u), nullptr);
  EXPECT_EQ(mapping_at(maps, 0x1000u), nullptr);
}

std::string write_temp(const std::string& text) {
  char path[] = "/tmp/kscope-kallsyms-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  return path;
}

TEST(KernelSymbols, NamesTheTextSymbolAtOrBeforeAnAddress) {
  std::string path = write_temp(
      "ffffffff81000000 T _stext\n"
      "ffffffff81000100 t helper_b\n"
      "ffffffff81000080 T helper_a\n"
      "ffffffff81000200 D some_data\n"
      "ffffffffc0001000 t mod_func\t[some_module]\n");
  auto ks = KernelSymbols::load(path);
  std::remove(path.c_str());
  ASSERT_TRUE(ks) << ks.error().message;
  EXPECT_EQ(ks->size(), 4u);  // the data symbol is not a function
  EXPECT_EQ(ks->symbol_at(0xffffffff81000000)->name, "_stext");
  EXPECT_EQ(ks->symbol_at(0xffffffff8100007f)->name, "_stext");
  EXPECT_EQ(ks->symbol_at(0xffffffff81000080)->name, "helper_a");
  EXPECT_EQ(ks->symbol_at(0xffffffff81000250)->name, "helper_b");
  EXPECT_EQ(ks->symbol_at(0xffffffff81000250)->addr, 0xffffffff81000100u);
  EXPECT_EQ(ks->symbol_at(0xffffffffc0001004)->name, "mod_func");
  EXPECT_FALSE(ks->symbol_at(0x1000));
}

TEST(KernelSymbols, HiddenAddressesAreAnErrorWithAHint) {
  std::string path = write_temp("0000000000000000 T _stext\n0000000000000000 t f\n");
  auto ks = KernelSymbols::load(path);
  std::remove(path.c_str());
  ASSERT_FALSE(ks);
  EXPECT_NE(ks.error().hint.find("kptr_restrict"), std::string::npos);
}

TEST(Symbolizer, KernelFramesLookReturnAddressesUpOneByteBack) {
  std::string path = write_temp("ffffffff81000000 T first\nffffffff81000080 T second\n");
  Symbolizer sym(kDefaultElfFiles, "/proc", path);
  EXPECT_EQ(sym.kernel_frame(0xffffffff81000080, true), "second");
  EXPECT_EQ(sym.kernel_frame(0xffffffff81000080, false), "first");  // a call ending `first`
  EXPECT_EQ(sym.kernel_frame(0x10, true), "[unknown] 0x10");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace kscope

// What trace drops and trace dropcount share on the user side: the drop reasons' names
// from the running kernel's BTF, the dropping code's address by name, the filter flags and
// their clauses, the probe's filter knobs, and the hook alternatives on skb:kfree_skb.
#pragma once

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "bpf/kernel_enum.h"
#include "registry/tool.h"
#include "symbolize/kernel_symbols.h"

namespace kscope::tools::drop_reasons {

// The values of enum skb_drop_reason are SKB_DROP_REASON_NAME, with SKB_NOT_DROPPED_YET and
// SKB_CONSUMED before them; kscope shows NAME, NOT_DROPPED_YET, CONSUMED.
inline std::string_view short_name(std::string_view kernel_name) {
  for (std::string_view prefix : {"SKB_DROP_REASON_", "SKB_"})
    if (kernel_name.starts_with(prefix)) return kernel_name.substr(prefix.size());
  return kernel_name;
}

// The reason's name in this kernel, or its number when the kernel has no name for it (a
// subsystem's reason, with the subsystem in the high 16 bits, or a record from another
// kernel without BTF here).
inline std::string reason_name(uint32_t reason) {
  auto e = KernelEnum::running("skb_drop_reason");
  const std::string* name = e ? (*e)->name_of(reason) : nullptr;
  return name ? std::string(short_name(*name)) : std::to_string(reason);
}

// --reason's argument as reason_name() spells it: upper case, without the kernel's prefix.
inline std::string normalized(std::string_view arg) {
  std::string s;
  for (char c : arg) s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return std::string(short_name(s));
}

// The number of the reason called `name` (normalized) in this kernel.
inline Result<uint32_t> reason_number(std::string_view name) {
  auto e = KernelEnum::running("skb_drop_reason");
  if (!e) return std::unexpected(e.error());
  std::string known;
  for (const auto& [value, kernel_name] : (*e)->values()) {
    if (short_name(kernel_name) == name) return static_cast<uint32_t>(value);
    if (!known.empty()) known += ' ';
    known += short_name(kernel_name);
  }
  return fail(fmt::format("--reason {}: this kernel has no such drop reason", name),
              "its reasons (enum skb_drop_reason): " + known);
}

// "tcp_v4_rcv+0x2a4", or the address in hex when kallsyms names nothing there (or cannot be
// read: kptr_restrict, no root).
inline std::string location_name(uint64_t addr) {
  static const Result<KernelSymbols> symbols = KernelSymbols::load();
  if (symbols)
    if (auto s = symbols->symbol_at(addr)) return fmt::format("{}+{:#x}", s->name, addr - s->addr);
  return fmt::format("{:#x}", addr);
}

// The ethertype's name for the common ones, else its number.
inline std::string ethertype_name(uint16_t protocol) {
  switch (protocol) {
    case 0x0800: return "IPv4";
    case 0x86dd: return "IPv6";
    case 0x0806: return "ARP";
    case 0: return "";
  }
  return fmt::format("{:#06x}", protocol);
}

inline std::string l4_name(uint8_t family, uint8_t l4proto) {
  if (!family) return "";
  switch (l4proto) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    case 132: return "sctp";
  }
  return std::to_string(l4proto);
}

// --netns: a network namespace file (/run/netns/NAME, /proc/PID/ns/net) or its inode number.
inline Result<uint32_t> netns_inode(std::string_view spec) {
  uint32_t ino = 0;
  auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), ino);
  if (ec == std::errc() && end == spec.data() + spec.size() && ino) return ino;
  std::string path(spec);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno("--netns " + path, errno);
  struct stat st;
  bool net = ::ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET && ::fstat(fd, &st) == 0;
  ::close(fd);
  if (!net)
    return fail(fmt::format("--netns {}: not a network namespace", path),
                "give /run/netns/NAME, /proc/PID/ns/net, or the namespace's inode number");
  return static_cast<uint32_t>(st.st_ino);
}

inline constexpr FlagSpec kReasonFlag{
    "-r,--reason", "Only drops for this reason (NO_SOCKET, TCP_CSUM, ...: the kernel's names)",
    FlagKind::text};
inline constexpr FlagSpec kAllReasonsFlag{
    "-a,--all-reasons", "Also drops whose reason is NOT_SPECIFIED (left out by default: frequent, and "
    "often no real loss)"};
inline constexpr FlagSpec kNetnsFlag{
    "--netns", "Only drops in this network namespace: /run/netns/NAME, /proc/PID/ns/net or its inode",
    FlagKind::text};

// The clauses the flags mean: --reason's name, or by default every reason but
// NOT_SPECIFIED; --netns's inode.
inline Result<void> add_clauses(const ToolArgs& a, Filter& f) {
  const std::string& reason = a.text("--reason");
  if (!reason.empty() && a.flag("--all-reasons"))
    return fail("--reason and --all-reasons both given", "pick one");
  if (!reason.empty())
    f.add({"reason", Op::eq, normalized(reason), "--reason " + reason});
  else if (!a.flag("--all-reasons"))
    f.add({"reason", Op::ne, std::string("NOT_SPECIFIED"), "without --all-reasons"});
  if (const std::string& ns = a.text("--netns"); !ns.empty()) {
    auto ino = netns_inode(ns);
    if (!ino) return std::unexpected(ino.error());
    f.add({"netns", Op::eq, int64_t{*ino}, "--netns " + ns});
  }
  return {};
}

// The reason knobs' numbers, looked up before the probe loads so that a name this kernel
// lacks is one clear error, not every hook alternative failing alike.
struct Knobs {
  bool only_set = false, skip_set = false;
  uint32_t only = 0, skip = 0, netns = 0;
};

inline Result<Knobs> knobs(const Filter& f) {
  Knobs k;
  if (const Clause* c = f.find("reason", Op::eq)) {
    auto n = reason_number(std::get<std::string>(c->operand));
    if (!n) return std::unexpected(n.error());
    k.only_set = true;
    k.only = *n;
  }
  if (const Clause* c = f.find("reason", Op::ne)) {
    auto n = reason_number(std::get<std::string>(c->operand));
    if (!n) return std::unexpected(n.error());
    k.skip_set = true;
    k.skip = *n;
  }
  if (const Clause* c = f.find("netns", Op::eq)) k.netns = std::get<int64_t>(c->operand);
  return k;
}

// Writes the knobs into the probe's rodata (common/kfree_skb.bpf.h) and claims their clauses.
template <class Rodata>
void configure(Rodata* ro, const Knobs& k, Filter& f) {
  ro->reason_only_set = k.only_set;
  ro->reason_only = k.only;
  ro->reason_skip_set = k.skip_set;
  ro->reason_skip = k.skip;
  ro->netns_only = k.netns;
  for (Op op : {Op::eq, Op::ne}) f.claim("reason", op);
  f.claim("netns", Op::eq);
}

// Loads probe object Skel (drops_bpf or dropcount_bpf: the same knobs) with the run's
// filter compiled in.
template <class Skel>
Result<std::unique_ptr<LiveProbe>> open(ProbeSetup& setup, const ToolArgs&,
                                        std::span<const HookAlternative> hooks) {
  auto k = knobs(*setup.filter);
  if (!k) return std::unexpected(k.error());
  return load_live_probe<Skel>(
      setup, hooks, [&](Skeleton<Skel>& skel, const HookAlternative&) -> Result<void> {
        configure(skel->rodata, *k, *setup.filter);
        return {};
      });
}

// The same three hooks for both tools, in order of preference.
inline std::vector<HookAlternative> hooks() {
  return {{"tracepoint", Hook::tracepoint, {"tp_kfree_skb"}, "skb:kfree_skb", {}},
          {"tp_btf", Hook::tp_btf, {"btf_kfree_skb"}, "tp_btf kfree_skb", {}},
          {"raw_tp", Hook::raw_tp, {"raw_kfree_skb"}, "raw_tp kfree_skb", {}}};
}

}  // namespace kscope::tools::drop_reasons

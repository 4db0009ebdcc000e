#include "bpf/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/log.h"

namespace kscope {

Capabilities current_capabilities() {
  Capabilities caps;
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("CapEff:")) caps.effective = std::stoull(line.substr(7), nullptr, 16);
  return caps;
}

namespace {

// The kernel's names (capabilities(7)), by number; newer ones print as cap_N.
constexpr const char* kCapNames[] = {
    "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid",
    "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable",
    "cap_net_bind_service", "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock",
    "cap_ipc_owner", "cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
    "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice", "cap_sys_resource",
    "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease", "cap_audit_write",
    "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
    "cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
    "cap_checkpoint_restore"};

// The missing ones of `needed` (none with CAP_SYS_ADMIN, which stands for them all), as
// "CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN" in the error; `what` needs them.
Result<void> require(const Capabilities& caps, std::initializer_list<int> needed,
                     std::string_view what, std::string_view hint) {
  if (caps.has(CAP_SYS_ADMIN)) return {};
  std::vector<int> missing;
  for (int cap : needed)
    if (!caps.has(cap)) missing.push_back(cap);
  if (missing.empty()) return {};
  std::string names;
  for (size_t i = 0; i < missing.size(); ++i) {
    if (i) names += i + 1 == missing.size() ? " and " : ", ";
    for (const char* c = kCapNames[missing[i]]; *c; ++c)
      names += static_cast<char>(std::toupper(static_cast<unsigned char>(*c)));
  }
  return fail(fmt::format("missing privileges: {} needs {} (or CAP_SYS_ADMIN)", what, names),
              std::string(hint), 1 /* EPERM */);
}

int last_cap() {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int last = CAP_LAST_CAP;
  f >> last;
  return last;
}

}  // namespace

Result<void> require_tracing_privileges(const Capabilities& caps) {
  return require(caps, {CAP_BPF, CAP_PERFMON}, "loading tracing probes",
                 "run as root (sudo kscope ...), or: setcap cap_bpf,cap_perfmon+ep $(which kscope)");
}

Result<void> require_network_privileges(const Capabilities& caps) {
  return require(caps, {CAP_BPF, CAP_NET_ADMIN}, "counting flows",
                 "run as root (sudo kscope flows ...), or: setcap cap_bpf,cap_net_admin+ep "
                 "$(which kscope)");
}

Result<void> require_collect_privileges(const Capabilities& caps) {
  return require(caps, {CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN}, "kscope collect",
                 "run as root (sudo kscope collect ...), or: setcap "
                 "cap_bpf,cap_perfmon,cap_net_admin+ep $(which kscope)");
}

std::string capability_names(uint64_t caps) {
  std::string out;
  for (int c = 0; c < 64; ++c) {
    if (!(caps & cap_bit(c))) continue;
    if (!out.empty()) out += ", ";
    out += c < int(std::size(kCapNames)) ? kCapNames[c] : fmt::format("cap_{}", c);
  }
  return out.empty() ? "none" : out;
}

Result<CapabilityDrop> drop_capabilities_except(uint64_t keep) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return fail_errno("capget", errno);
  uint64_t permitted = data[0].permitted | uint64_t{data[1].permitted} << 32;
  uint64_t effective = data[0].effective | uint64_t{data[1].effective} << 32;

  // The bounding set first: dropping from it needs CAP_SETPCAP, itself about to go.
  if (effective & cap_bit(CAP_SETPCAP))
    for (int c = 0, last = last_cap(); c <= last; ++c)
      if (!(keep & cap_bit(c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1 &&
          prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
        return fail_errno(fmt::format("drop {} from the bounding set", capability_names(cap_bit(c))),
                          errno);
  // Ambient capabilities would survive an execve: none.
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return fail_errno("clear the ambient capabilities", errno);

  uint64_t kept = permitted & keep;
  for (int i = 0; i < 2; ++i) {
    data[i].permitted = data[i].effective = static_cast<uint32_t>(kept >> (32 * i));
    data[i].inheritable = 0;
  }
  if (syscall(SYS_capset, &header, data) != 0) return fail_errno("capset", errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail_errno("set no_new_privs", errno);
  return CapabilityDrop{.kept = kept, .dropped = permitted & ~kept};
}

void give_up_capabilities(std::string_view who, uint64_t keep) {
  auto d = drop_capabilities_except(keep);
  if (!d) {
    log::warn("{}: could not give up capabilities: {}", who, d.error().message);
    return;
  }
  log::info("{}: capabilities kept: {}; {} given up", who, capability_names(d->kept),
            std::popcount(d->dropped));
}

}  // namespace kscope

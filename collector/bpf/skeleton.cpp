#include "bpf/skeleton.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/capability.h>
#include <unistd.h>

#include "base/log.h"
#include "bpf/capabilities.h"
#include "bpf/ring_buffer.h"

namespace kscope {

void Link::reset() {
  if (!link_) return;
  if (int err = bpf_link__destroy(link_)) log::warn("detach failed: {}", err);
  link_ = nullptr;
}

namespace object {

const bpf_object_open_opts* open_options() {
  static constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";
  static const bpf_object_open_opts vmlinux_only = [] {
    bpf_object_open_opts o{};
    o.sz = sizeof(o);
    o.btf_custom_path = kVmlinuxBtf;
    return o;
  }();
  if (current_capabilities().has(CAP_SYS_ADMIN) || ::access(kVmlinuxBtf, R_OK) != 0) return nullptr;
  return &vmlinux_only;
}

Result<void> enable_only(bpf_object* obj, const std::vector<std::string>& programs) {
  size_t found = 0;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    bool want = false;
    for (const auto& name : programs) want = want || name == bpf_program__name(prog);
    found += want;
    if (int err = bpf_program__set_autoload(prog, want))
      return fail_errno(fmt::format("set autoload of {}", bpf_program__name(prog)), err);
  }
  if (found != programs.size())
    return fail(fmt::format("probe object {} lacks one of the programs of the chosen hook",
                            bpf_object__name(obj)));
  return {};
}

Result<void> keep_stage_flush(bpf_object* obj) {
  bpf_program* prog = bpf_object__find_program_by_name(obj, kStageFlush);
  if (!prog) return {};
  if (int err = bpf_program__set_autoload(prog, true))
    return fail_errno(fmt::format("set autoload of {}", kStageFlush), err);
  bpf_program__set_autoattach(prog, false);
  return {};
}

Result<std::vector<ProgramStats>> program_stats(const bpf_object* obj) {
  std::vector<ProgramStats> out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    int fd = bpf_program__fd(prog);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
      return fail(fmt::format("read the run counters of program {}: {}", bpf_program__name(prog),
                              std::strerror(errno)));
    out.push_back({bpf_program__name(prog), info.run_cnt, info.run_time_ns, info.recursion_misses});
  }
  return out;
}

Result<std::vector<MapStats>> hash_map_stats(const bpf_object* obj) {
  std::vector<MapStats> out;
  const bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    int fd = bpf_map__fd(map);
    switch (bpf_map__type(map)) {
      case BPF_MAP_TYPE_HASH:
      case BPF_MAP_TYPE_PERCPU_HASH:
      case BPF_MAP_TYPE_LRU_HASH:
      case BPF_MAP_TYPE_LRU_PERCPU_HASH:
        break;
      default:
        continue;
    }
    if (fd < 0) continue;
    MapStats m{bpf_map__name(map), 0, bpf_map__max_entries(map)};
    std::vector<std::byte> key(bpf_map__key_size(map)), next(key.size());
    const void* prev = nullptr;
    // A map changing meanwhile may be counted a key more or less: a gauge, not an account.
    while (m.entries <= m.capacity && bpf_map_get_next_key(fd, prev, next.data()) == 0) {
      ++m.entries;
      key.swap(next);
      prev = key.data();
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<void> flush_stages(const bpf_object* obj) {
  const bpf_program* prog = bpf_object__find_program_by_name(obj, kStageFlush);
  if (!prog || bpf_program__fd(prog) < 0) return {};
  const bpf_map* staged = bpf_object__find_map_by_name(obj, "ks_staged");
  if (!staged) return fail("probe object has no map ks_staged");
  auto counts = read_percpu(bpf_map__fd(staged));
  if (!counts) return std::unexpected(counts.error());
  for (size_t cpu = 0; cpu < counts->size(); ++cpu) {
    if (!(*counts)[cpu]) continue;
    LIBBPF_OPTS(bpf_test_run_opts, run, .flags = BPF_F_TEST_RUN_ON_CPU, .cpu = static_cast<__u32>(cpu));
    // retval 1: a probe run held the stage; the next drain takes it.
    if (bpf_prog_test_run_opts(bpf_program__fd(prog), &run))
      return fail_errno(fmt::format("send out the events staged on CPU {}", cpu), errno);
  }
  return {};
}

Result<void> resize_map(bpf_object* obj, const char* name, unsigned int max_entries) {
  bpf_map* map = bpf_object__find_map_by_name(obj, name);
  if (!map) return fail(fmt::format("probe object has no map {}", name));
  if (int err = bpf_map__set_max_entries(map, max_entries))
    return fail_errno(fmt::format("resize map {} to {}", name, max_entries), err);
  return {};
}

Result<std::vector<Link>> attach_loaded(bpf_object* obj) {
  std::vector<Link> links;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    // Autoattach off: the tool attaches it itself (load_probe's attach_own).
    if (!bpf_program__autoload(prog) || !bpf_program__autoattach(prog)) continue;
    log::LibbpfCapture capture;
    bpf_link* link = bpf_program__attach(prog);
    if (!link) {
      int err = errno;
      auto e = fail_errno(fmt::format("attach {} ({})", bpf_program__name(prog),
                                      bpf_program__section_name(prog)),
                          err);
      if (auto reason = capture.reason(); !reason.empty())
        e.error().message += fmt::format(" [libbpf: {}]", reason);
      return e;
    }
    links.emplace_back(link);
  }
  return links;
}

std::unexpected<Error> load_failed(const char* name, int err, const log::LibbpfCapture& capture) {
  std::string reason = capture.reason();
  if (capture.text().find("BEGIN PROG LOAD LOG") != std::string::npos)
    return fail(fmt::format("load {}: the kernel's verifier rejected it [libbpf: {}]", name, reason),
                "run with -vv to see the verifier's log; `kscope doctor` shows what this kernel supports",
                err < 0 ? -err : err);
  auto e = fail_errno(fmt::format("load {}", name), err);
  if (!reason.empty()) e.error().message += fmt::format(" [libbpf: {}]", reason);
  return e;
}

int map_fd(bpf_object* obj, const char* name) {
  bpf_map* map = bpf_object__find_map_by_name(obj, name);
  return map ? bpf_map__fd(map) : -1;
}

}  // namespace object
}  // namespace kscope

#include "sources/exec_source.h"

#include "exec.skel.h"

KSCOPE_SKELETON(exec_bpf);

namespace kscope {

Result<std::unique_ptr<LiveProbe>> open_exec_probe(const ProbeConfig& config,
                                                   const ArgLimits& limits) {
  if (auto v = validate(limits); !v) return std::unexpected(v.error());
  auto skel = Skeleton<exec_bpf>::open();
  if (!skel) return std::unexpected(skel.error());
  auto hook = configure_probe(skel->object(), *find_tool("exec"), config);
  if (!hook) return std::unexpected(hook.error());

  if (auto r = object::resize_map(skel->object(), "exec_scratch", libbpf_num_possible_cpus()); !r)
    return std::unexpected(r.error());

  auto* ro = (*skel)->rodata;
  apply_common_rodata(ro, config);
  ro->include_failed = config.failed;
  ro->max_args = limits.max_args;
  ro->max_arg_len = limits.max_arg_len;

  if (auto r = skel->load(); !r) return std::unexpected(r.error());
  if (auto r = skel->attach(); !r) return std::unexpected(r.error());
  return std::make_unique<SkeletonProbe<exec_bpf>>(std::move(*skel), **hook);
}

}  // namespace kscope

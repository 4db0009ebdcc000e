#include "sources/open_source.h"

#include <cstring>

#include <fmt/format.h>

#include "open.skel.h"

KSCOPE_SKELETON(open_bpf);

namespace kscope {

Result<void> validate_path_prefix(const std::string& prefix) {
  if (prefix.size() > KS_OPEN_PREFIX_MAX)
    return fail(fmt::format("--path prefix is {} bytes; at most {} are compared", prefix.size(),
                            KS_OPEN_PREFIX_MAX),
                fmt::format("give the first {} bytes of the path", KS_OPEN_PREFIX_MAX));
  return {};
}

Result<std::unique_ptr<LiveProbe>> open_open_probe(const ProbeConfig& config,
                                                   const std::string& path_prefix) {
  if (auto v = validate_path_prefix(path_prefix); !v) return std::unexpected(v.error());
  auto skel = Skeleton<open_bpf>::open();
  if (!skel) return std::unexpected(skel.error());
  auto hook = configure_probe(skel->object(), *find_tool("open"), config);
  if (!hook) return std::unexpected(hook.error());

  auto* ro = (*skel)->rodata;
  apply_common_rodata(ro, config);
  ro->failed_only = config.failed;
  ro->prefix_len = path_prefix.size();
  std::memcpy(const_cast<char*>(ro->prefix), path_prefix.data(), path_prefix.size());

  if (auto r = skel->load(); !r) return std::unexpected(r.error());
  if (auto r = skel->attach(); !r) return std::unexpected(r.error());
  return std::make_unique<SkeletonProbe<open_bpf>>(std::move(*skel), **hook);
}

}  // namespace kscope

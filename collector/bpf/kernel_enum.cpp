#include "bpf/kernel_enum.h"

#include <bpf/btf.h>

#include <cerrno>
#include <map>
#include <memory>
#include <mutex>

#include <fmt/format.h>

namespace kscope {

Result<KernelEnum> KernelEnum::from_btf(const btf* b, std::string_view name) {
  std::string wanted(name);
  int id = btf__find_by_name_kind(b, wanted.c_str(), BTF_KIND_ENUM);
  if (id < 0) id = btf__find_by_name_kind(b, wanted.c_str(), BTF_KIND_ENUM64);
  if (id < 0) return fail(fmt::format("the kernel's BTF has no enum {}", name));
  const btf_type* t = btf__type_by_id(b, id);
  KernelEnum e;
  int n = btf_vlen(t);
  for (int i = 0; i < n; ++i) {
    if (btf_is_enum(t)) {
      const struct btf_enum& v = btf_enum(t)[i];
      e.values_.emplace_back(v.val, btf__name_by_offset(b, v.name_off));
    } else {
      const struct btf_enum64& v = btf_enum64(t)[i];
      e.values_.emplace_back(static_cast<int64_t>(btf_enum64_value(&v)),
                             btf__name_by_offset(b, v.name_off));
    }
  }
  return e;
}

Result<const KernelEnum*> KernelEnum::running(std::string_view name) {
  static std::mutex m;
  static std::map<std::string, Result<std::unique_ptr<KernelEnum>>, std::less<>> cache;
  std::lock_guard lock(m);
  auto it = cache.find(name);
  if (it == cache.end()) {
    Result<std::unique_ptr<KernelEnum>> read = [&]() -> Result<std::unique_ptr<KernelEnum>> {
      btf* vmlinux = btf__load_vmlinux_btf();
      if (!vmlinux) {
        auto e = fail_errno("read the kernel's BTF", errno);
        e.error().hint = "the kernel must be built with CONFIG_DEBUG_INFO_BTF";
        return e;
      }
      auto e = from_btf(vmlinux, name);
      btf__free(vmlinux);
      if (!e) return std::unexpected(e.error());
      return std::make_unique<KernelEnum>(std::move(*e));
    }();
    it = cache.emplace(std::string(name), std::move(read)).first;
  }
  if (!it->second) return std::unexpected(it->second.error());
  return it->second->get();
}

const std::string* KernelEnum::name_of(int64_t value) const {
  for (const auto& [v, n] : values_)
    if (v == value) return &n;
  return nullptr;
}

std::optional<int64_t> KernelEnum::value_of(std::string_view name) const {
  for (const auto& [v, n] : values_)
    if (n == name) return v;
  return std::nullopt;
}

}  // namespace kscope

// RAII over a bpftool skeleton with the explicit lifecycle:
//   open -> configure (rodata, map sizes, autoload) -> load -> attach.
// KSCOPE_SKELETON(exec_bpf) teaches Skeleton<exec_bpf> the generated function names.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <bpf/libbpf.h>

#include "bpf/link.h"
#include "base/log.h"
#include "base/result.h"

namespace kscope {

template <class T>
struct SkeletonOps;  // specialised by KSCOPE_SKELETON

#define KSCOPE_SKELETON(name)                                                   \
  template <>                                                                   \
  struct kscope::SkeletonOps<name> {                                            \
    static constexpr const char* kName = #name;                                 \
    static name* open(const bpf_object_open_opts* o) { return name##__open_opts(o); } \
    static int load(name* s) { return name##__load(s); }                        \
    static void destroy(name* s) { name##__destroy(s); }                        \
  }

// Operations on an opened or loaded object that do not depend on the skeleton type.
namespace object {
// Sets autoload on exactly the named programs and off on every other one.
Result<void> enable_only(bpf_object* obj, const std::vector<std::string>& programs);
Result<void> resize_map(bpf_object* obj, const char* map, unsigned int max_entries);
// Attaches every program that is set to load and to autoattach, by its SEC() name.
Result<std::vector<Link>> attach_loaded(bpf_object* obj);
int map_fd(bpf_object* obj, const char* map);
// A probe that stages its events (probes/common/stage.bpf.h) has ks_stage_flush: loaded
// with whichever hook's programs, attached to nothing (user space runs it).
inline constexpr const char* kStageFlush = "ks_stage_flush";
Result<void> keep_stage_flush(bpf_object* obj);
// Runs ks_stage_flush on every CPU whose stage holds events; nothing for a probe without.
Result<void> flush_stages(const bpf_object* obj);
// The options every skeleton opens with. Without CAP_SYS_ADMIN, libbpf before 1.3 fails the
// load of a probe with a CO-RE flavour the kernel lacks (a `struct foo___old`): finding no
// candidate in vmlinux it lists the modules' BTF, which needs CAP_SYS_ADMIN (EPERM). Given
// vmlinux's BTF as a custom path it searches vmlinux alone, where every probe's types are; so
// with CAP_BPF and CAP_PERFMON only, it does that (nullptr, libbpf's defaults, otherwise).
const bpf_object_open_opts* open_options();
// The error for a failed load: the verifier's rejection named as such, else errno + libbpf.
std::unexpected<Error> load_failed(const char* name, int err, const log::LibbpfCapture& capture);

// A loaded program's counters from the kernel (bpf_prog_info): runs and run time only while
// the kernel's BPF statistics are on (BPF_ENABLE_STATS or kernel.bpf_stats_enabled).
struct ProgramStats {
  std::string name;
  uint64_t runs = 0;
  uint64_t run_time_ns = 0;
  uint64_t recursion_misses = 0;  // runs the kernel skipped (5.12+)
};
// Every loaded program of `obj` (another hook alternative's programs are not loaded).
Result<std::vector<ProgramStats>> program_stats(const bpf_object* obj);

// A hash map's occupancy: its entries now (counted key by key) and its capacity.
struct MapStats {
  std::string name;
  uint64_t entries = 0;
  uint64_t capacity = 0;
};
// Every created hash map of `obj` (array maps are full by construction; rings have a fill).
Result<std::vector<MapStats>> hash_map_stats(const bpf_object* obj);
}  // namespace object

template <class T>
class Skeleton {
 public:
  using Ops = SkeletonOps<T>;

  static Result<Skeleton> open() {
    T* s = Ops::open(object::open_options());
    if (!s) return fail_errno(std::string("open ") + Ops::kName, errno);
    return Skeleton(s);
  }

  ~Skeleton() {
    links_.clear();  // detach before the programs go away
    if (skel_) Ops::destroy(skel_);
  }
  Skeleton(Skeleton&& o) noexcept
      : skel_(std::exchange(o.skel_, nullptr)), links_(std::move(o.links_)) {}
  Skeleton& operator=(Skeleton&& o) noexcept {
    if (this != &o) {
      links_.clear();
      if (skel_) Ops::destroy(skel_);
      skel_ = std::exchange(o.skel_, nullptr);
      links_ = std::move(o.links_);
    }
    return *this;
  }
  Skeleton(const Skeleton&) = delete;
  Skeleton& operator=(const Skeleton&) = delete;

  T* operator->() const { return skel_; }
  T* get() const { return skel_; }
  bpf_object* object() const { return skel_->obj; }

  Result<void> load() {
    log::LibbpfCapture capture;
    if (int err = Ops::load(skel_)) return object::load_failed(Ops::kName, err, capture);
    return {};
  }

  Result<void> attach() {
    auto links = object::attach_loaded(object());
    if (!links) return std::unexpected(links.error());
    links_ = std::move(*links);
    return {};
  }

 private:
  explicit Skeleton(T* s) : skel_(s) {}
  T* skel_ = nullptr;
  std::vector<Link> links_;
};

}  // namespace kscope

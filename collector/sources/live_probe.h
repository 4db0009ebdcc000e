// A loaded and attached probe, whatever its skeleton: what the drain loop needs from it.
#pragma once

#include <memory>
#include <string_view>

#include "bpf/skeleton.h"
#include "tools.h"

namespace kscope {

class LiveProbe {
 public:
  virtual ~LiveProbe() = default;
  virtual int events_fd() const = 0;  // the ring buffer
  virtual int lost_fd() const = 0;    // per-CPU count of failed ring buffer writes
  virtual const HookAlternative& hook() const = 0;
};

template <class T>
class SkeletonProbe final : public LiveProbe {
 public:
  SkeletonProbe(Skeleton<T> skel, const HookAlternative& hook)
      : skel_(std::move(skel)), hook_(hook) {}
  int events_fd() const override { return object::map_fd(skel_.object(), "events"); }
  int lost_fd() const override { return object::map_fd(skel_.object(), "lost_events"); }
  const HookAlternative& hook() const override { return hook_; }

 private:
  Skeleton<T> skel_;
  const HookAlternative& hook_;
};

}  // namespace kscope

// RAII owner of a bpf_link: detaches on destruction. Move-only.
#pragma once

#include <utility>

struct bpf_link;

namespace kscope {

class Link {
 public:
  Link() = default;
  explicit Link(bpf_link* link) : link_(link) {}
  ~Link() { reset(); }
  Link(Link&& o) noexcept : link_(std::exchange(o.link_, nullptr)) {}
  Link& operator=(Link&& o) noexcept {
    if (this != &o) {
      reset();
      link_ = std::exchange(o.link_, nullptr);
    }
    return *this;
  }
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  bpf_link* get() const { return link_; }
  void reset();

 private:
  bpf_link* link_ = nullptr;
};

}  // namespace kscope

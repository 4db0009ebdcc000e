// Errors as values: what failed, and a hint that says how to fix it.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace kscope {

struct Error {
  std::string message;  // what failed, e.g. "load exec probe: Operation not permitted"
  std::string hint;     // how to fix it; empty when there is nothing to suggest
  int code = 0;         // errno, when the failure came from the kernel or libc
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(std::string message, std::string hint = {}, int code = 0) {
  return std::unexpected<Error>(Error{std::move(message), std::move(hint), code});
}

// "what: strerror(err)" plus the hint that usually fixes that errno for BPF work.
std::unexpected<Error> fail_errno(std::string what, int err);

}  // namespace kscope

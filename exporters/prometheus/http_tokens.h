// The pieces of HTTP header syntax (RFC 9110) the endpoint reads: optional whitespace,
// case-insensitive tokens and q values.
#pragma once

#include <charconv>
#include <string_view>

namespace kscope::prom {

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// A q value (0 to 1); anything else counts as 0, so that a garbled entry never wins.
inline double parse_q(std::string_view v) {
  v = trim(v);
  double q = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
  if (ec != std::errc{} || end != v.data() + v.size() || !(q >= 0 && q <= 1)) return 0;
  return q;
}

}  // namespace kscope::prom

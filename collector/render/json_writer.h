// A streaming JSON writer: it places the commas (and, when pretty, the newlines and
// indentation) so that nothing in kscope builds JSON by hand. NDJSON events, the lost
// records and doctor's report all go through it. Kernel strings are arbitrary bytes:
// invalid UTF-8 becomes U+FFFD so every line stays valid JSON.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace kscope {

void append_json_string(fmt::memory_buffer& out, std::string_view s);

class JsonWriter {
 public:
  // indent 0: one line (NDJSON); otherwise pretty, with this many spaces per level.
  explicit JsonWriter(fmt::memory_buffer& out, int indent = 0) : out_(out), indent_(indent) {}

  // Members of an object take a key; elements of an array (and the top value) do not.
  JsonWriter& key(std::string_view k);
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& value(std::string_view v);
  JsonWriter& value(const char* v) { return value(std::string_view(v)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  // A value already encoded as JSON, e.g. a cached timestamp string with its quotes.
  JsonWriter& raw_value(std::string_view json);
  // Ends a top-level value with a newline (one NDJSON record).
  void end_line() { out_.push_back('\n'); }

  template <class T>
  JsonWriter& member(std::string_view k, const T& v) {
    return key(k).value(v);
  }

 private:
  void before_value();
  void newline();
  fmt::memory_buffer& out_;
  int indent_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace kscope

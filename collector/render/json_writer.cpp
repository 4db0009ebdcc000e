#include "render/json_writer.h"

namespace kscope {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
size_t utf8_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (n == 2 && c < 0xc2) return 0;                                      // overlong
  if (n == 3 && c == 0xe0 && b(i + 1) < 0xa0) return 0;                  // overlong
  if (n == 3 && c == 0xed && b(i + 1) >= 0xa0) return 0;                 // surrogate
  if (n == 4 && (c > 0xf4 || (c == 0xf0 && b(i + 1) < 0x90) || (c == 0xf4 && b(i + 1) >= 0x90)))
    return 0;
  return n;
}

}  // namespace

void append_json_string(fmt::memory_buffer& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    // The usual run of plain ASCII, appended at once: flow logs write millions of strings.
    size_t plain = i;
    while (plain < s.size()) {
      unsigned char p = static_cast<unsigned char>(s[plain]);
      if (p < 0x20 || p >= 0x80 || p == '"' || p == '\\') break;
      ++plain;
    }
    if (plain > i) {
      out.append(s.data() + i, s.data() + plain);
      i = plain;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out.append(std::string_view("\\\"")); ++i; continue;
      case '\\': out.append(std::string_view("\\\\")); ++i; continue;
      case '\n': out.append(std::string_view("\\n")); ++i; continue;
      case '\t': out.append(std::string_view("\\t")); ++i; continue;
      case '\r': out.append(std::string_view("\\r")); ++i; continue;
      default: break;
    }
    if (c < 0x20) {
      const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out.append(esc, esc + sizeof(esc));
      ++i;
      continue;
    }
    size_t n = utf8_length(s, i);
    if (n == 0) {
      out.append(std::string_view("\\ufffd"));
      ++i;
    } else {
      out.append(s.data() + i, s.data() + i + n);
      i += n;
    }
  }
  out.push_back('"');
}

void JsonWriter::newline() {
  if (!indent_) return;
  out_.push_back('\n');
  for (size_t i = 0; i < first_.size() * static_cast<size_t>(indent_); ++i) out_.push_back(' ');
}

void JsonWriter::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (first_.empty()) return;
  if (!first_.back()) out_.push_back(',');
  first_.back() = false;
  newline();
}

JsonWriter& JsonWriter::key(std::string_view k) {
  before_value();
  append_json_string(out_, k);
  out_.push_back(':');
  if (indent_) out_.push_back(' ');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  out_.push_back('{');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) newline();
  out_.push_back('}');
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  out_.push_back('[');
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  bool empty = first_.back();
  first_.pop_back();
  if (!empty) newline();
  out_.push_back(']');
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view v) {
  before_value();
  append_json_string(out_, v);
  return *this;
}

JsonWriter& JsonWriter::raw_value(std::string_view json) {
  before_value();
  out_.append(json);
  return *this;
}

JsonWriter& JsonWriter::value(int64_t v) {
  before_value();
  fmt::format_to(std::back_inserter(out_), "{}", v);
  return *this;
}

JsonWriter& JsonWriter::value(uint64_t v) {
  before_value();
  fmt::format_to(std::back_inserter(out_), "{}", v);
  return *this;
}

JsonWriter& JsonWriter::value(bool v) {
  before_value();
  out_.append(std::string_view(v ? "true" : "false"));
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value();
  out_.append(std::string_view("null"));
  return *this;
}

}  // namespace kscope

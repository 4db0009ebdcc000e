#include "render/fields.h"

#include <cctype>

#include "render/json.h"

namespace kscope {

namespace {

class TableWriter final : public FieldWriter {
 public:
  explicit TableWriter(fmt::memory_buffer& out) : out_(out) {}
  bool is_json() const override { return false; }
  void integer(int64_t v) override { fmt::format_to(std::back_inserter(out_), "{}", v); }
  void uinteger(uint64_t v) override { fmt::format_to(std::back_inserter(out_), "{}", v); }
  void text(std::string_view v) override {
    // Control characters would break the row; show them escaped.
    for (char c : v) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        fmt::format_to(std::back_inserter(out_), "\\x{:02x}", static_cast<unsigned char>(c));
      else
        out_.push_back(c);
    }
  }
  void boolean(bool v) override { out_.append(std::string_view(v ? "yes" : "no")); }
  void text_list(std::span<const std::string> v, bool truncated) override {
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_.push_back(' ');
      append_shell_word(out_, v[i]);
    }
    if (truncated) out_.append(std::string_view(v.empty() ? "..." : " ..."));
  }

 private:
  fmt::memory_buffer& out_;
};

class JsonWriter final : public FieldWriter {
 public:
  explicit JsonWriter(fmt::memory_buffer& out) : out_(out) {}
  bool is_json() const override { return true; }
  void integer(int64_t v) override { fmt::format_to(std::back_inserter(out_), "{}", v); }
  void uinteger(uint64_t v) override { fmt::format_to(std::back_inserter(out_), "{}", v); }
  void text(std::string_view v) override { append_json_string(out_, v); }
  void boolean(bool v) override { out_.append(std::string_view(v ? "true" : "false")); }
  void text_list(std::span<const std::string> v, bool) override {
    out_.push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_.push_back(',');
      append_json_string(out_, v[i]);
    }
    out_.push_back(']');
  }

 private:
  fmt::memory_buffer& out_;
};

}  // namespace

RowRenderer::RowRenderer(Format format, std::string_view type, Output& out)
    : format_(format), type_(type), out_(out) {
  if (format == Format::json)
    writer_ = std::make_unique<JsonWriter>(out.buffer());
  else
    writer_ = std::make_unique<TableWriter>(out.buffer());
}

RowRenderer::~RowRenderer() = default;

void RowRenderer::begin_row() {
  if (format_ == Format::json) {
    out_.buffer().append(std::string_view("{\"type\":"));
    append_json_string(out_.buffer(), type_);
  }
}

FieldWriter& RowRenderer::begin_field(std::string_view key) {
  auto& buf = out_.buffer();
  field_start_ = buf.size();
  if (format_ == Format::json) {
    buf.push_back(',');  // "type" is always the first key
    append_json_string(buf, key);
    buf.push_back(':');
  }
  return *writer_;
}

void RowRenderer::end_field(int width, bool last) {
  if (format_ != Format::table) return;
  auto& buf = out_.buffer();
  size_t used = buf.size() - field_start_;
  if (last) return;
  for (size_t i = used; i < static_cast<size_t>(width); ++i) buf.push_back(' ');
  buf.push_back(' ');
}

void RowRenderer::end_row() {
  auto& buf = out_.buffer();
  if (format_ == Format::json) {
    buf.push_back('}');
  } else if (buf.size() == field_start_) {
    // An empty last column leaves only the padding before it; a value's own spaces stay.
    while (buf.size() > 0 && buf.data()[buf.size() - 1] == ' ') buf.resize(buf.size() - 1);
  }
  buf.push_back('\n');
  out_.maybe_flush();
}

void RowRenderer::header_cell(std::string_view column, int width, bool last) {
  auto& buf = out_.buffer();
  buf.append(column);
  if (last) return;
  for (size_t i = column.size(); i < static_cast<size_t>(width); ++i) buf.push_back(' ');
  buf.push_back(' ');
}

void append_shell_word(fmt::memory_buffer& out, std::string_view arg) {
  // Plain only when every byte is one a shell never treats specially (UTF-8 included).
  bool plain = !arg.empty();
  for (char c : arg) {
    unsigned char u = static_cast<unsigned char>(c);
    bool safe = u >= 0x80 || std::isalnum(u) || std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
    plain = plain && safe;
  }
  if (plain) {
    out.append(arg);
    return;
  }
  out.push_back('\'');
  for (char c : arg) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\'')
      out.append(std::string_view("'\\''"));
    else if (u < 0x20 || u == 0x7f)
      fmt::format_to(std::back_inserter(out), "'$'\\x{:02x}''", u);
    else
      out.push_back(c);
  }
  out.push_back('\'');
}

}  // namespace kscope

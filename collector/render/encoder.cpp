#include "render/encoder.h"

#include <cctype>
#include <optional>
#include <string>

#include "model/symbols.h"
#include "render/json_writer.h"
#include "render/time_format.h"

namespace kscope {
namespace {

// A storm repeats the same flag values: each field keeps the names of its last value.
class FlagNames {
 public:
  std::string_view names(const FieldInfo& f, uint64_t v) {
    if (v != last_ || !valid_) {
      text_ = f.symbols ? f.symbols(v) : fmt::format("{:#x}", v);
      last_ = v;
      valid_ = true;
    }
    return text_;
  }

 private:
  uint64_t last_ = 0;
  bool valid_ = false;
  std::string text_;
};

int64_t as_int(const Value& v) { return std::get<int64_t>(v); }
uint64_t as_uint(const Value& v) { return std::get<uint64_t>(v); }

class TableEncoder final : public RowEncoder {
 public:
  TableEncoder(std::vector<FieldInfo> fields, Output& out)
      : fields_(std::move(fields)), flags_(fields_.size()), out_(out) {
    for (size_t i = 0; i < fields_.size(); ++i)
      if (shows(i)) last_ = i;
  }

  void header() override {
    begin_row();
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (!shows(i)) continue;
      field_start_ = buf().size();
      buf().append(fields_[i].column);
      pad(i);
    }
    end_row();
  }
  bool shows(size_t i) const override { return !fields_[i].column.empty(); }
  void begin_row() override {
    row_start_ = buf().size();
    last_empty_ = true;
  }
  void field(size_t i, const Value& v, std::string_view mark) override {
    const FieldInfo& f = fields_[i];
    field_start_ = buf().size();
    auto& b = buf();
    switch (f.type) {
      case FieldType::integer: fmt::format_to(std::back_inserter(b), "{}", as_int(v)); break;
      case FieldType::uinteger: fmt::format_to(std::back_inserter(b), "{}", as_uint(v)); break;
      case FieldType::boolean: b.append(std::string_view(std::get<bool>(v) ? "yes" : "no")); break;
      case FieldType::text: text(std::get<std::string_view>(v)); break;
      case FieldType::boot_time: b.append(time_of_day(as_uint(v))); break;
      case FieldType::duration: {
        uint64_t ns = as_uint(v);
        fmt::format_to(std::back_inserter(b), "{}.{:03d}", ns / 1'000'000'000,
                       ns / 1'000'000 % 1000);
        break;
      }
      case FieldType::errno_code: {
        int64_t e = as_int(v);
        b.append(e ? errno_name(static_cast<int>(e)) : std::string("0"));
        break;
      }
      case FieldType::signal: {
        int64_t s = as_int(v);
        b.append(s ? signal_name(static_cast<int>(s)) : std::string("-"));
        break;
      }
      case FieldType::flags: b.append(flags_[i].names(f, as_uint(v))); break;
      case FieldType::octal: fmt::format_to(std::back_inserter(b), "{:04o}", as_uint(v)); break;
      case FieldType::pid: {
        auto p = std::get<PidInNs>(v);
        // "host/inner" when the process lives in another pid namespace.
        if (p.inner == p.host || p.inner == 0) fmt::format_to(std::back_inserter(b), "{}", p.host);
        else fmt::format_to(std::back_inserter(b), "{}/{}", p.host, p.inner);
        break;
      }
      case FieldType::argv: {
        auto a = std::get<ArgvView>(v);
        for (size_t k = 0; k < a.args.size(); ++k) {
          if (k) b.push_back(' ');
          append_shell_word(b, a.args[k]);
        }
        if (a.truncated) b.append(std::string_view(a.args.empty() ? "..." : " ..."));
        break;
      }
    }
    if (!mark.empty()) {
      if (b.size() > field_start_) b.push_back(' ');
      b.append(mark);
    }
    pad(i);
  }
  void end_row() override {
    auto& b = buf();
    // An empty last column leaves only the padding before it; a value's own spaces stay.
    if (last_empty_)
      while (b.size() > row_start_ && b.data()[b.size() - 1] == ' ') b.resize(b.size() - 1);
    b.push_back('\n');
    out_.maybe_flush();
  }

 private:
  fmt::memory_buffer& buf() { return out_.buffer(); }
  // Control characters would break the row; show them escaped.
  void text(std::string_view v) {
    for (char c : v) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        fmt::format_to(std::back_inserter(buf()), "\\x{:02x}", static_cast<unsigned char>(c));
      else
        buf().push_back(c);
    }
  }
  // Pads the cell just written to its column width; the last column is not padded.
  void pad(size_t i) {
    size_t used = buf().size() - field_start_;
    if (i == last_) {
      last_empty_ = used == 0;
      return;
    }
    for (size_t k = used; k < static_cast<size_t>(fields_[i].width); ++k) buf().push_back(' ');
    buf().push_back(' ');
  }

  std::vector<FieldInfo> fields_;
  std::vector<FlagNames> flags_;
  Output& out_;
  size_t last_ = 0;
  size_t row_start_ = 0, field_start_ = 0;
  bool last_empty_ = true;  // the last column's cell is empty: drop the padding before it
};

class JsonEncoder final : public RowEncoder {
 public:
  JsonEncoder(std::string_view type, std::vector<FieldInfo> fields, Output& out)
      : type_(type), fields_(std::move(fields)), flags_(fields_.size()), out_(out) {}

  void header() override {}
  bool shows(size_t) const override { return true; }
  void begin_row() override {
    json_.emplace(out_.buffer());
    json_->begin_object().member("type", type_);
  }
  // The mark is for people; the tool's boolean field says the same to programs.
  void field(size_t i, const Value& v, std::string_view /*mark*/) override {
    const FieldInfo& f = fields_[i];
    auto& j = json_->key(f.key);
    switch (f.type) {
      case FieldType::integer:
      case FieldType::errno_code:
      case FieldType::signal: j.value(as_int(v)); break;
      case FieldType::uinteger:
      case FieldType::duration:
      case FieldType::octal: j.value(as_uint(v)); break;
      case FieldType::boolean: j.value(std::get<bool>(v)); break;
      case FieldType::text: j.value(std::get<std::string_view>(v)); break;
      case FieldType::boot_time: j.value(std::string_view(rfc3339(as_uint(v)))); break;
      case FieldType::flags: j.value(flags_[i].names(f, as_uint(v))); break;
      case FieldType::pid: j.value(int64_t{std::get<PidInNs>(v).host}); break;
      case FieldType::argv: {
        j.begin_array();
        for (const auto& a : std::get<ArgvView>(v).args) j.value(std::string_view(a));
        j.end_array();
        break;
      }
    }
  }
  void end_row() override {
    json_->end_object().end_line();
    json_.reset();
    out_.maybe_flush();
  }

 private:
  std::string_view type_;
  std::vector<FieldInfo> fields_;
  std::vector<FlagNames> flags_;
  Output& out_;
  std::optional<JsonWriter> json_;
};

}  // namespace

std::unique_ptr<RowEncoder> RowEncoder::create(Format format, std::string_view type,
                                               std::vector<FieldInfo> fields, Output& out) {
  if (format == Format::json) return std::make_unique<JsonEncoder>(type, std::move(fields), out);
  return std::make_unique<TableEncoder>(std::move(fields), out);
}

void append_shell_word(fmt::memory_buffer& out, std::string_view arg) {
  // Plain only when every byte is one a shell never treats specially (UTF-8 included).
  bool plain = !arg.empty();
  for (char c : arg) {
    unsigned char u = static_cast<unsigned char>(c);
    bool safe = u >= 0x80 || std::isalnum(u) ||
                std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
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

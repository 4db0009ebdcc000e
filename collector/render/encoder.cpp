#include "render/encoder.h"

#include <algorithm>
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

// fmt::format_int: the fastest integer to text fmt has, without a format string to parse.
template <class Int>
void append_int(fmt::memory_buffer& b, Int v) {
  fmt::format_int text(v);
  b.append(text.data(), text.data() + text.size());
}

// The slots a histogram shows: from the first up to the last that counted anything (as
// libbpf-tools print them), none when all are empty.
size_t shown_slots(const Log2Hist& h) {
  size_t n = h.slots.size();
  while (n > 0 && h.slots[n - 1] == 0) --n;
  return n;
}
uint64_t slot_low(size_t i) { return i == 0 ? 0 : uint64_t{1} << i; }
uint64_t slot_high(size_t i) { return i >= 63 ? UINT64_MAX : (uint64_t{1} << (i + 1)) - 1; }

// libbpf-tools' print_log2_hist(): one line a slot, a bar of up to 40 stars scaled to the
// fullest slot, headed by the unit (the field's column).
void append_log2_hist(fmt::memory_buffer& b, std::string_view unit, const Log2Hist& h) {
  size_t n = shown_slots(h);
  uint64_t max = 0;
  for (size_t i = 0; i < n; ++i) max = std::max<uint64_t>(max, h.slots[i]);
  fmt::format_to(std::back_inserter(b), "{:>20} : count    distribution\n", unit);
  for (size_t i = 0; i < n; ++i) {
    size_t stars = max ? static_cast<size_t>(h.slots[i] * 40 / max) : 0;
    fmt::format_to(std::back_inserter(b), "{:>10} -> {:<10}: {:<8} |{:<40}|\n", slot_low(i),
                   slot_high(i), h.slots[i], std::string(stars, '*'));
  }
}

class TableEncoder final : public RowEncoder {
 public:
  TableEncoder(std::vector<FieldInfo> fields, Output& out)
      : fields_(std::move(fields)), flags_(fields_.size()), out_(out) {
    for (size_t i = 0; i < fields_.size(); ++i)
      if (shows(i) && !block(i)) last_ = i;
  }

  void header() override {
    begin_row();
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (!shows(i) || block(i)) continue;
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
      case FieldType::integer: append_int(b, as_int(v)); break;
      case FieldType::uinteger: append_int(b, as_uint(v)); break;
      case FieldType::boolean: b.append(std::string_view(std::get<bool>(v) ? "yes" : "no")); break;
      case FieldType::text: text(std::get<std::string_view>(v)); break;
      case FieldType::boot_time: b.append(time_of_day(as_uint(v))); break;
      case FieldType::duration: {
        uint64_t ns = as_uint(v);
        fmt::format_to(fmt::appender(b), "{}.{:03d}", ns / 1'000'000'000, ns / 1'000'000 % 1000);
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
      case FieldType::octal: fmt::format_to(fmt::appender(b), "{:04o}", as_uint(v)); break;
      case FieldType::pid: {
        auto p = std::get<PidInNs>(v);
        // "host/inner" when the process lives in another pid namespace.
        append_int(b, p.host);
        if (p.inner != p.host && p.inner != 0) {
          b.push_back('/');
          append_int(b, p.inner);
        }
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
      case FieldType::ip: b.append(ip_text(std::get<IpAddr>(v))); break;
      case FieldType::log2_hist: {  // a block of its own, after the row
        const auto& h = std::get<Log2Hist>(v);
        hists_.emplace_back(h.unit.empty() ? f.column : h.unit,
                            std::vector<unsigned long long>(h.slots.begin(), h.slots.end()));
        return;
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
    for (const auto& [unit, slots] : hists_) append_log2_hist(b, unit, Log2Hist{slots});
    if (!hists_.empty()) b.push_back('\n');
    hists_.clear();
    out_.maybe_flush();
  }

 private:
  fmt::memory_buffer& buf() { return out_.buffer(); }
  // A histogram is not a column: its block follows the row.
  bool block(size_t i) const { return fields_[i].type == FieldType::log2_hist; }
  // Control characters would break the row; show them escaped. The runs between them are
  // appended whole: in a storm this is most of a row's bytes.
  void text(std::string_view v) {
    auto control = [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; };
    for (auto it = v.begin(); it != v.end();) {
      auto stop = std::find_if(it, v.end(), control);
      buf().append(it, stop);
      if (stop == v.end()) break;
      fmt::format_to(fmt::appender(buf()), "\\x{:02x}", static_cast<unsigned char>(*stop));
      it = stop + 1;
    }
  }
  // Pads the cell just written to its column width, and the space between columns; the
  // last column is not padded.
  void pad(size_t i) {
    static constexpr std::string_view kSpaces = "                                        ";
    size_t used = buf().size() - field_start_;
    if (i == last_) {
      last_empty_ = used == 0;
      return;
    }
    size_t n = static_cast<size_t>(fields_[i].width) > used ? fields_[i].width - used + 1 : 1;
    while (n > 0) {
      size_t k = std::min(n, kSpaces.size());
      buf().append(kSpaces.substr(0, k));
      n -= k;
    }
  }

  std::vector<FieldInfo> fields_;
  std::vector<FlagNames> flags_;
  Output& out_;
  std::vector<std::pair<std::string_view, std::vector<unsigned long long>>> hists_;  // this row's
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
      case FieldType::ip: j.value(std::string_view(ip_text(std::get<IpAddr>(v)))); break;
      case FieldType::log2_hist: {
        const auto& h = std::get<Log2Hist>(v);
        j.begin_array();
        for (size_t s = 0; s < shown_slots(h); ++s) {
          j.begin_object().member("low", slot_low(s)).member("high", slot_high(s));
          j.member("count", uint64_t{h.slots[s]}).end_object();
        }
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

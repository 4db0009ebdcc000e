// One declaration of a tool's fields drives every encoding: a tool lists Field<Event> rows
// once, and the table and NDJSON renderers (and later the stream) derive from that list.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "render/output.h"

namespace kscope {

enum class Format { table, json };

// A sink for one field's value; each encoding implements it.
class FieldWriter {
 public:
  virtual ~FieldWriter() = default;
  // A field may choose its shape per encoding: a name for people, a number for programs.
  virtual bool is_json() const = 0;
  virtual void integer(int64_t v) = 0;
  virtual void uinteger(uint64_t v) = 0;  // ids that may use all 64 bits (cgroup ids)
  virtual void text(std::string_view v) = 0;
  virtual void boolean(bool v) = 0;
  // A list of strings (argv). The table shows it shell-quoted; JSON as an array.
  virtual void text_list(std::span<const std::string> v, bool truncated) = 0;
};

template <class Event>
struct Field {
  std::string_view column;  // table header; empty: the field is not in the table
  std::string_view key;     // NDJSON key; empty: the field is table-only
  int width;                // table column width; the last column is not padded
  void (*write)(const Event&, FieldWriter&);
};

// Non-template core of the renderers, so the formatting code is compiled once.
class RowRenderer {
 public:
  RowRenderer(Format format, std::string_view type, Output& out);
  ~RowRenderer();
  RowRenderer(const RowRenderer&) = delete;
  RowRenderer& operator=(const RowRenderer&) = delete;
  Format format() const { return format_; }
  Output& output() { return out_; }

  void begin_row();
  // The writer for one field; end_field() pads it to its column. `last` marks the final
  // table column, which is not padded.
  FieldWriter& begin_field(std::string_view key);
  void end_field(int width, bool last);
  void end_row();
  void header_cell(std::string_view column, int width, bool last);

 private:
  Format format_;
  std::string_view type_;
  Output& out_;
  std::unique_ptr<FieldWriter> writer_;
  size_t field_start_ = 0;
};

template <class Event>
class Renderer {
 public:
  Renderer(Format format, std::string_view type, std::span<const Field<Event>> fields, Output& out)
      : core_(format, type, out), fields_(fields) {}

  void header() {
    if (core_.format() != Format::table) return;
    size_t last = last_column();
    for (size_t i = 0; i < fields_.size(); ++i)
      if (!fields_[i].column.empty()) core_.header_cell(fields_[i].column, fields_[i].width, i == last);
    core_.end_row();
  }

  void render(const Event& e) {
    core_.begin_row();
    size_t last = last_column();
    bool table = core_.format() == Format::table;
    for (size_t i = 0; i < fields_.size(); ++i) {
      const auto& f = fields_[i];
      if (table ? f.column.empty() : f.key.empty()) continue;
      f.write(e, core_.begin_field(f.key));
      core_.end_field(f.width, i == last);
    }
    core_.end_row();
  }

 private:
  size_t last_column() const {
    size_t last = 0;
    for (size_t i = 0; i < fields_.size(); ++i)
      if (!fields_[i].column.empty()) last = i;
    return last;
  }
  RowRenderer core_;
  std::span<const Field<Event>> fields_;
};

// Shell-style quoting for the table's argv column: an argument that is empty or holds any
// byte a shell treats specially is single-quoted, so the row reads back as the exact argv.
void append_shell_word(fmt::memory_buffer& out, std::string_view arg);

}  // namespace kscope

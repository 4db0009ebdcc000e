// The encodings of a row of typed fields: a padded table for people, NDJSON for programs.
// Each encoder formats a value by its FieldType alone; no encoder knows a tool.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "model/field.h"
#include "render/output.h"

namespace kscope {

enum class Format { table, json };

class RowEncoder {
 public:
  // `type` is the NDJSON "type" member (the tool's name); `fields` outlive the encoder.
  static std::unique_ptr<RowEncoder> create(Format format, std::string_view type,
                                            std::vector<FieldInfo> fields, Output& out);
  virtual ~RowEncoder() = default;
  virtual void header() = 0;  // the table's column names; nothing for NDJSON
  virtual bool shows(size_t field) const = 0;
  virtual void begin_row() = 0;
  // Only fields that shows(). `mark`: Field::mark's text for this value, or "".
  virtual void field(size_t field, const Value& v, std::string_view mark) = 0;
  virtual void end_row() = 0;
};

// Shell-style quoting for the table's argv column: an argument that is empty or holds any
// byte a shell treats specially is single-quoted, so the row reads back as the exact argv.
void append_shell_word(fmt::memory_buffer& out, std::string_view arg);

}  // namespace kscope

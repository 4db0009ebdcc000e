#include "model/field.h"

namespace kscope {

std::string_view field_type_name(FieldType t) {
  switch (t) {
    case FieldType::integer: return "integer";
    case FieldType::uinteger: return "unsigned integer";
    case FieldType::boolean: return "boolean";
    case FieldType::text: return "string";
    case FieldType::boot_time: return "time";
    case FieldType::duration: return "duration (ns)";
    case FieldType::errno_code: return "errno";
    case FieldType::signal: return "signal";
    case FieldType::flags: return "flags";
    case FieldType::octal: return "octal";
    case FieldType::pid: return "pid";
    case FieldType::argv: return "string array";
  }
  return "unknown";
}

}  // namespace kscope

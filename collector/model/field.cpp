#include "model/field.h"

#include <arpa/inet.h>

#include <string>

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
    case FieldType::ip: return "IP address";
    case FieldType::log2_hist: return "log2 histogram";
  }
  return "unknown";
}

std::string ip_text(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.family == 4) inet_ntop(AF_INET, a.bytes.data(), buf, sizeof(buf));
  else if (a.family == 6) inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof(buf));
  return buf;
}

IpAddr parse_ip(std::string_view text) {
  IpAddr a;
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) a.family = 4;
  else if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) a.family = 6;
  else a = {};
  return a;
}

}  // namespace kscope

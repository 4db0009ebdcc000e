// Trace events for the sinks: rendered as `kscope trace exec -o json` renders them, behind the
// schema and the node, with arguments redacted by pattern before any sink sees them.
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "exporters/collect/event_export.h"
#include "registry/registry.h"

namespace kscope::collect {
namespace {

std::vector<std::regex> patterns(std::initializer_list<const char*> p) {
  std::vector<std::regex> out;
  for (const char* x : p) out.emplace_back(x);
  return out;
}

TEST(EventExport, RedactsGroupsOrWholeMatches) {
  auto groups = patterns({R"((?:password|token)=(\S+))"});
  EXPECT_EQ(redact("--password=hunter2", groups), "--password=*****");
  EXPECT_EQ(redact("a token=x1 and password=y2", groups), "a token=***** and password=*****");
  EXPECT_EQ(redact("nothing here", groups), "nothing here");
  auto whole = patterns({R"(AKIA[0-9A-Z]{16})"});
  EXPECT_EQ(redact("key=AKIAABCDEFGHIJKLMNOP!", whole), "key=*****!");
  // Two patterns apply one after the other.
  auto both = patterns({R"(password=(\S+))", R"(^-p(\S+)$)"});
  EXPECT_EQ(redact("-psecret", both), "-p*****");
}

TEST(EventExport, RendersTheToolsLineBehindSchemaAndNode) {
  const Tool* exec = find_tool("exec");
  ASSERT_NE(exec, nullptr);
  EventRecord r;
  auto fields = exec->fields();
  std::vector<std::string> args = {"mysql", "--password=hunter2", "-e", "select 1"};
  for (const auto& f : fields) {
    switch (f.type) {
      case FieldType::argv: r.add(f, ArgvView{args, false}); break;
      case FieldType::text: r.add(f, std::string_view(f.key == "comm" ? "mysql" : "")); break;
      case FieldType::pid: r.add(f, PidInNs{4242, 42}); break;
      case FieldType::boolean: r.add(f, false); break;
      case FieldType::boot_time:
      case FieldType::uinteger:
      case FieldType::duration:
      case FieldType::flags:
      case FieldType::octal: r.add(f, uint_value(0)); break;
      default: r.add(f, int_value(f.key == "pid" ? 4242 : 0)); break;
    }
  }
  std::string pattern = R"((?:password)=(\S+))";
  EventExport e(*exec, std::span<const std::string>(&pattern, 1), "node-a");
  auto item = e.render(r);
  EXPECT_EQ(item.tool, "exec");
  EXPECT_EQ(item.pid, 4242u);
  EXPECT_EQ(item.comm, "mysql");
  EXPECT_TRUE(item.json.starts_with(R"({"schema":"kscope.event.v1","node_name":"node-a","type":"exec",)"))
      << item.json;
  EXPECT_NE(item.json.find(R"("args":["mysql","--password=*****","-e","select 1"])"), std::string::npos)
      << item.json;
  EXPECT_EQ(item.json.find("hunter2"), std::string::npos);
  EXPECT_TRUE(item.json.ends_with("}\n"));
  // The next record starts afresh.
  auto again = e.render(r);
  EXPECT_EQ(again.json, item.json);
}

}  // namespace
}  // namespace kscope::collect

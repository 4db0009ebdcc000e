// append_json_string: kernel strings are arbitrary bytes, every line must stay valid JSON.
// JsonWriter: the commas, nesting, and (pretty) indentation of every JSON kscope writes.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "render/json_writer.h"

namespace kscope {
namespace {

using namespace std::string_view_literals;

std::string json(std::string_view s) {
  fmt::memory_buffer b;
  append_json_string(b, s);
  return fmt::to_string(b);
}

TEST(JsonString, PlainAscii) {
  EXPECT_EQ(json(""), R"("")");
  EXPECT_EQ(json("exec_target"), R"("exec_target")");
  EXPECT_EQ(json("with space /path ~!@#$%^&*[x]{y}"), R"("with space /path ~!@#$%^&*[x]{y}")");
  EXPECT_EQ(json("\x7f"), "\"\x7f\"");  // DEL needs no escape in JSON
}

TEST(JsonString, QuotesAndBackslash) {
  EXPECT_EQ(json("q\"uote"), R"("q\"uote")");
  EXPECT_EQ(json("back\\slash"), R"("back\\slash")");
  EXPECT_EQ(json("\\\""), R"("\\\"")");
  EXPECT_EQ(json("it's"), R"("it's")");
  EXPECT_EQ(json("a/b"), R"("a/b")");
}

TEST(JsonString, ControlCharacters) {
  EXPECT_EQ(json("\n\t\r"), R"("\n\t\r")");
  EXPECT_EQ(json("\x01"), R"("\u0001")");
  EXPECT_EQ(json("a\x1f" "b"), R"("a\u001fb")");
  EXPECT_EQ(json("\b\f"), R"("\u0008\u000c")");
  EXPECT_EQ(json("\x1b[0m"), R"("\u001b[0m")");
  EXPECT_EQ(json("a\0b"sv), R"("a\u0000b")");
}

TEST(JsonString, ValidMultiByteUtf8Kept) {
  EXPECT_EQ(json("\xc2\x80"), "\"\xc2\x80\"");                  // U+0080, smallest 2-byte
  EXPECT_EQ(json("caf\xc3\xa9"), "\"caf\xc3\xa9\"");            // é
  EXPECT_EQ(json("\xe0\xa0\x80"), "\"\xe0\xa0\x80\"");          // U+0800, smallest 3-byte
  EXPECT_EQ(json("\xe2\x82\xac"), "\"\xe2\x82\xac\"");          // €
  EXPECT_EQ(json("\xed\x9f\xbf"), "\"\xed\x9f\xbf\"");          // U+D7FF, below surrogates
  EXPECT_EQ(json("\xee\x80\x80"), "\"\xee\x80\x80\"");          // U+E000, above surrogates
  EXPECT_EQ(json("\xef\xbf\xbf"), "\"\xef\xbf\xbf\"");          // U+FFFF
  EXPECT_EQ(json("\xf0\x90\x80\x80"), "\"\xf0\x90\x80\x80\"");  // U+10000, smallest 4-byte
  EXPECT_EQ(json("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");  // 😀
  EXPECT_EQ(json("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");  // U+10FFFF, the last
  EXPECT_EQ(json("\xe6\x97\xa5\xe6\x9c\xac"), "\"\xe6\x97\xa5\xe6\x9c\xac\"");
}

TEST(JsonString, InvalidBytesBecomeReplacement) {
  EXPECT_EQ(json("\xff"), R"("\ufffd")");
  EXPECT_EQ(json("\xfe\xff"), R"("\ufffd\ufffd")");
  EXPECT_EQ(json("a\x80z"), R"("a\ufffdz")");           // lone continuation byte
  EXPECT_EQ(json("\xc3"), R"("\ufffd")");               // lead byte at the end
  EXPECT_EQ(json("\xc3(" ), R"("\ufffd(")");            // lead byte, then no continuation
  EXPECT_EQ(json("\xe2\x82"), R"("\ufffd\ufffd")");     // 3-byte sequence cut short
  EXPECT_EQ(json("\xf0\x9f\x98"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(json("\xf8\x88\x80\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd\ufffd")");  // 5-byte form
  // A bad byte does not swallow the valid text after it.
  EXPECT_EQ(json("\xe2\x82" "caf\xc3\xa9"), "\"\\ufffd\\ufffdcaf\xc3\xa9\"");
}

TEST(JsonString, OverlongFormsRejected) {
  EXPECT_EQ(json("\xc0\xaf"), R"("\ufffd\ufffd")");                  // '/' in 2 bytes
  EXPECT_EQ(json("\xc1\xbf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(json("\xc0\x80"), R"("\ufffd\ufffd")");                  // modified-UTF-8 NUL
  EXPECT_EQ(json("\xe0\x80\xaf"), R"("\ufffd\ufffd\ufffd")");        // '/' in 3 bytes
  EXPECT_EQ(json("\xe0\x9f\xbf"), R"("\ufffd\ufffd\ufffd")");        // U+07FF in 3 bytes
  EXPECT_EQ(json("\xf0\x80\x80\xaf"), R"("\ufffd\ufffd\ufffd\ufffd")");  // '/' in 4 bytes
  EXPECT_EQ(json("\xf0\x8f\xbf\xbf"), R"("\ufffd\ufffd\ufffd\ufffd")");  // U+FFFF in 4 bytes
}

TEST(JsonString, SurrogatesAndBeyondUnicodeRejected) {
  EXPECT_EQ(json("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // U+D800
  EXPECT_EQ(json("\xed\xbf\xbf"), R"("\ufffd\ufffd\ufffd")");  // U+DFFF
  EXPECT_EQ(json("\xed\xa0\xbd\xed\xb8\x80"),                  // CESU-8 pair
            R"("\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd")");
  EXPECT_EQ(json("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // U+110000
  EXPECT_EQ(json("\xf5\x80\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
}

TEST(JsonString, AppendsToWhatIsThere) {
  fmt::memory_buffer b;
  b.append(std::string_view("{\"k\":"));
  append_json_string(b, "v");
  b.push_back('}');
  EXPECT_EQ(fmt::to_string(b), R"({"k":"v"})");
}

// ---- JsonWriter ----

std::string ndjson(const std::function<void(JsonWriter&)>& write, int indent = 0) {
  fmt::memory_buffer b;
  JsonWriter j(b, indent);
  write(j);
  return fmt::to_string(b);
}

TEST(JsonWriter, FlatObjectOneLine) {
  EXPECT_EQ(ndjson([](JsonWriter& j) {
              j.begin_object()
                  .member("type", "lost")
                  .member("lost", uint64_t{5})
                  .member("neg", int64_t{-7})
                  .member("ok", true)
                  .member("bad", false);
              j.key("none").null();
              j.end_object().end_line();
            }),
            "{\"type\":\"lost\",\"lost\":5,\"neg\":-7,\"ok\":true,\"bad\":false,\"none\":null}\n");
}

TEST(JsonWriter, ExtremeIntegers) {
  EXPECT_EQ(ndjson([](JsonWriter& j) {
              j.begin_array()
                  .value(std::numeric_limits<int64_t>::min())
                  .value(std::numeric_limits<int64_t>::max())
                  .value(std::numeric_limits<uint64_t>::max())
                  .value(int64_t{0})
                  .end_array();
            }),
            "[-9223372036854775808,9223372036854775807,18446744073709551615,0]");
}

TEST(JsonWriter, EmptyContainers) {
  EXPECT_EQ(ndjson([](JsonWriter& j) { j.begin_object().end_object(); }), "{}");
  EXPECT_EQ(ndjson([](JsonWriter& j) { j.begin_array().end_array(); }), "[]");
  EXPECT_EQ(ndjson([](JsonWriter& j) {
              j.begin_object();
              j.key("a").begin_array().end_array();
              j.key("o").begin_object().end_object();
              j.end_object();
            }),
            R"({"a":[],"o":{}})");
  // Pretty: an empty container stays on its line.
  EXPECT_EQ(ndjson([](JsonWriter& j) { j.begin_object().end_object(); }, 2), "{}");
  EXPECT_EQ(ndjson(
                [](JsonWriter& j) {
                  j.begin_object();
                  j.key("a").begin_array().end_array();
                  j.end_object();
                },
                2),
            "{\n  \"a\": []\n}");
}

TEST(JsonWriter, NestingAndCommas) {
  auto write = [](JsonWriter& j) {
    j.begin_object().member("type", "exec");
    j.key("args").begin_array().value("a").value("b c").end_array();
    j.key("nested").begin_object();
    j.key("list").begin_array();
    j.begin_object().member("k", int64_t{1}).end_object();
    j.begin_object().member("k", int64_t{2}).end_object();
    j.end_array();
    j.member("after", "x");
    j.end_object();
    j.member("last", true);
    j.end_object();
  };
  EXPECT_EQ(ndjson(write),
            R"({"type":"exec","args":["a","b c"],"nested":{"list":[{"k":1},{"k":2}],"after":"x"},)"
            R"("last":true})");
  EXPECT_EQ(ndjson(write, 2),
            "{\n"
            "  \"type\": \"exec\",\n"
            "  \"args\": [\n"
            "    \"a\",\n"
            "    \"b c\"\n"
            "  ],\n"
            "  \"nested\": {\n"
            "    \"list\": [\n"
            "      {\n"
            "        \"k\": 1\n"
            "      },\n"
            "      {\n"
            "        \"k\": 2\n"
            "      }\n"
            "    ],\n"
            "    \"after\": \"x\"\n"
            "  },\n"
            "  \"last\": true\n"
            "}");
}

TEST(JsonWriter, PrettyIndentWidth) {
  EXPECT_EQ(ndjson([](JsonWriter& j) { j.begin_array().value(int64_t{1}).value(int64_t{2}).end_array(); }, 4),
            "[\n    1,\n    2\n]");
}

TEST(JsonWriter, KeysAndValuesAreEscaped) {
  EXPECT_EQ(ndjson([](JsonWriter& j) {
              j.begin_object().member("k\"ey\n", "v\\al\x01\xff").end_object();
            }),
            R"({"k\"ey\n":"v\\al\u0001\ufffd"})");
  EXPECT_EQ(ndjson([](JsonWriter& j) { j.value(std::string_view("a\0b", 3)); }), R"("a\u0000b")");
}

TEST(JsonWriter, TopLevelValuesOnePerLine) {
  EXPECT_EQ(ndjson([](JsonWriter& j) {
              j.begin_object().member("n", int64_t{1}).end_object().end_line();
              j.begin_object().member("n", int64_t{2}).end_object().end_line();
            }),
            "{\"n\":1}\n{\"n\":2}\n");
  EXPECT_EQ(ndjson([](JsonWriter& j) { j.value("top").end_line(); }), "\"top\"\n");
}

TEST(JsonWriter, AppendsToWhatIsThere) {
  fmt::memory_buffer b;
  b.append(std::string_view("prefix "));
  JsonWriter(b).begin_array().value(true).end_array();
  EXPECT_EQ(fmt::to_string(b), "prefix [true]");
}

}  // namespace
}  // namespace kscope

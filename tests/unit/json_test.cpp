// append_json_string: kernel strings are arbitrary bytes, every line must stay valid JSON.
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "render/json.h"

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

}  // namespace
}  // namespace kscope

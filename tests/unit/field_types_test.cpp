// The field types the network and histogram tools share, through the real encoders: IP
// addresses (text both ways, filter clauses) and log2 histograms (libbpf-tools' bars in the
// table, bucket objects in NDJSON).
#include <gtest/gtest.h>

#include "captured_output.h"
#include "filter/filter.h"
#include "render/encoder.h"

namespace kscope {
namespace {

using test::Captured;

IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {4, {a, b, c, d}}; }

TEST(IpAddr, TextBothWays) {
  EXPECT_EQ(ip_text(v4(10, 231, 0, 2)), "10.231.0.2");
  EXPECT_EQ(parse_ip("10.231.0.2"), v4(10, 231, 0, 2));
  IpAddr loop6{6, {}};
  loop6.bytes[15] = 1;
  EXPECT_EQ(ip_text(loop6), "::1");
  EXPECT_EQ(parse_ip("::1"), loop6);
  EXPECT_EQ(ip_text(parse_ip("::ffff:10.0.0.1")), "::ffff:10.0.0.1");
  EXPECT_EQ(ip_text(IpAddr{}), "");
  EXPECT_EQ(parse_ip("10.0.0").family, 0);
  EXPECT_EQ(parse_ip("").family, 0);
}

TEST(IpAddr, FilterClauses) {
  Value a(v4(10, 231, 0, 2));
  EXPECT_TRUE(clause_fits({"daddr", Op::eq, std::string("10.231.0.2"), ""}, FieldType::ip));
  EXPECT_FALSE(clause_fits({"daddr", Op::eq, int64_t{1}, ""}, FieldType::ip));
  EXPECT_FALSE(clause_fits({"daddr", Op::prefix, std::string("10."), ""}, FieldType::ip));
  EXPECT_TRUE(clause_matches({"daddr", Op::eq, std::string("10.231.0.2"), ""}, a));
  EXPECT_FALSE(clause_matches({"daddr", Op::eq, std::string("10.231.0.3"), ""}, a));
  EXPECT_TRUE(clause_matches({"daddr", Op::ne, std::string("10.231.0.3"), ""}, a));
  EXPECT_FALSE(clause_matches({"daddr", Op::eq, std::string("::ffff:10.231.0.2"), ""}, a));
}

const std::vector<FieldInfo> kFields = {
    {"daddr", "DADDR", 11, FieldType::ip},
    {"usecs", "usecs", 0, FieldType::log2_hist},
    {"count", "COUNT", 0, FieldType::uinteger},
};

std::string encode(Format format, const std::vector<unsigned long long>& slots, bool header = false) {
  Captured c;
  auto enc = RowEncoder::create(format, "runqlat", kFields, c.out());
  if (header) enc->header();
  enc->begin_row();
  enc->field(0, Value(v4(10, 0, 0, 1)), "");
  enc->field(1, Value(Log2Hist{slots}), "");
  enc->field(2, uint_value(7), "");
  enc->end_row();
  return c.text();
}

TEST(Log2Hist, TableBarsAfterTheRow) {
  EXPECT_EQ(encode(Format::table, {1, 0, 4, 2, 0, 0}, /*header=*/true),
            "DADDR       COUNT\n"
            "10.0.0.1    7\n"
            "               usecs : count    distribution\n"
            "         0 -> 1         : 1        |**********                              |\n"
            "         2 -> 3         : 0        |                                        |\n"
            "         4 -> 7         : 4        |****************************************|\n"
            "         8 -> 15        : 2        |********************                    |\n"
            "\n");
}

TEST(Log2Hist, EmptyHistogramHasOnlyItsHeading) {
  EXPECT_EQ(encode(Format::table, {0, 0}),
            "10.0.0.1    7\n"
            "               usecs : count    distribution\n"
            "\n");
}

TEST(Log2Hist, JsonBuckets) {
  EXPECT_EQ(encode(Format::json, {1, 0, 4, 0}),
            R"({"type":"runqlat","daddr":"10.0.0.1","usecs":[{"low":0,"high":1,"count":1},)"
            R"({"low":2,"high":3,"count":0},{"low":4,"high":7,"count":4}],"count":7})"
            "\n");
}

TEST(Log2Hist, TopSlotCoversTheRestOfTheRange) {
  std::vector<unsigned long long> slots(64, 0);
  slots[63] = 1;
  std::string json = encode(Format::json, slots);
  EXPECT_NE(json.find(R"({"low":9223372036854775808,"high":18446744073709551615,"count":1})"),
            std::string::npos)
      << json;
}

}  // namespace
}  // namespace kscope

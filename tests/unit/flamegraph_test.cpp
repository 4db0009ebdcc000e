// The SVG flame graph's layout, exactly: widths by share of samples, callers below callees,
// siblings in name order, frames too narrow to see left out, names escaped, kinds colored.
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "render/flamegraph.h"

namespace kscope {
namespace {

// The <g> element of the frame whose tooltip starts with `title`, or "".
std::string frame_element(const std::string& svg, const std::string& title) {
  std::string needle = "<title>";  // appended: GCC 12 -O3 warns falsely on "..." + string
  needle.append(title).append(" (");
  size_t at = svg.find(needle);
  if (at == std::string::npos) return "";
  size_t start = svg.rfind("<g class=\"f\"", at), end = svg.find("</g>", at);
  return svg.substr(start, end - start);
}

std::string attr(const std::string& element, const std::string& name) {
  std::smatch m;
  std::string pattern = " ";
  pattern.append(name).append("=\"([^\"]*)\"");
  if (!std::regex_search(element, m, std::regex(pattern))) return "";
  return m[1];
}

TEST(FlameGraph, LaysFramesOutBySharesOfSamples) {
  FlameGraph g;
  std::vector<FlameFrame> spin{{"prog", FrameKind::process}, {"main", FrameKind::user},
                               {"spin", FrameKind::user}};
  std::vector<FlameFrame> read{{"prog", FrameKind::process}, {"main", FrameKind::user},
                               {"do_read", FrameKind::user}, {"vfs_read", FrameKind::kernel}};
  g.add(spin, 30);
  g.add(read, 10);
  EXPECT_EQ(g.total(), 40u);
  std::string svg = g.svg("title", "40 samples", 1200);

  // 1180 px for 40 samples: 29.5 px a sample, from x = 10.
  std::string all = frame_element(svg, "all");
  EXPECT_EQ(attr(all, "width"), "1180.0");
  EXPECT_NE(all.find("<title>all (40 samples, 100.00%)</title>"), std::string::npos);
  std::string main = frame_element(svg, "main");
  EXPECT_EQ(attr(main, "x"), "10.0");
  EXPECT_EQ(attr(main, "width"), "1180.0");
  EXPECT_EQ(attr(main, "data-d"), "2");
  // Siblings in name order: do_read (10) left of spin (30).
  std::string do_read = frame_element(svg, "do_read");
  std::string spin_el = frame_element(svg, "spin");
  EXPECT_EQ(attr(do_read, "x"), "10.0");
  EXPECT_EQ(attr(do_read, "width"), "295.0");
  EXPECT_EQ(attr(spin_el, "x"), "305.0");
  EXPECT_EQ(attr(spin_el, "width"), "885.0");
  EXPECT_NE(spin_el.find("(30 samples, 75.00%)"), std::string::npos);
  // Callees above callers: a deeper frame has a smaller y.
  EXPECT_LT(std::stoi(attr(spin_el, "y")), std::stoi(attr(main, "y")));
  EXPECT_EQ(std::stoi(attr(main, "y")) - std::stoi(attr(spin_el, "y")), 16);
  // Kinds: kernel frames orange (no blue), user frames "hot" (no blue above 55).
  std::string vfs = frame_element(svg, "vfs_read");
  EXPECT_EQ(attr(vfs, "data-kind"), "kernel");
  EXPECT_NE(attr(vfs, "fill").find(",0)"), std::string::npos) << attr(vfs, "fill");
  EXPECT_EQ(attr(spin_el, "data-kind"), "user");
  EXPECT_EQ(attr(frame_element(svg, "prog"), "data-kind"), "process");
  // A label is the whole name when it fits, and nothing in a frame too narrow for 3 chars.
  EXPECT_NE(spin_el.find(">spin</text>"), std::string::npos);
  EXPECT_NE(svg.find("<script><![CDATA["), std::string::npos);
  EXPECT_TRUE(svg.ends_with("</svg>\n"));
}

TEST(FlameGraph, LeavesOutFramesNarrowerThanATenthOfAPixel) {
  FlameGraph g;
  std::vector<FlameFrame> big{{"p", FrameKind::process}, {"hot", FrameKind::user}};
  std::vector<FlameFrame> tiny{{"p", FrameKind::process}, {"cold", FrameKind::user}};
  g.add(big, 1'000'000);
  g.add(tiny, 1);  // 0.00118 px
  std::string svg = g.svg("t", "s", 1200);
  EXPECT_NE(frame_element(svg, "hot"), "");
  EXPECT_EQ(frame_element(svg, "cold"), "");
}

TEST(FlameGraph, EscapesNamesAndCutsLongLabels) {
  FlameGraph g;
  std::string long_name(300, 'x');
  std::vector<FlameFrame> s{{"a<b>&\"c'", FrameKind::user}, {long_name, FrameKind::user}};
  g.add(s, 1);
  std::string svg = g.svg("<title>", "s", 400);
  EXPECT_NE(svg.find("<title>a&lt;b&gt;&amp;&quot;c&apos; (1 samples, 100.00%)</title>"),
            std::string::npos);
  EXPECT_NE(svg.find(">&lt;title&gt;</text>"), std::string::npos);
  // (380 - 6) px at 7.08 px a glyph: 52 glyphs, the last two "..".
  std::string cut = ">";
  cut.append(50, 'x').append("..</text>");
  EXPECT_NE(svg.find(cut), std::string::npos);
  EXPECT_EQ(xml_escape("\x01ok"), "?ok");
}

TEST(FlameGraph, KeepsKindsApartUnderOneName) {
  FlameGraph g;
  std::vector<FlameFrame> u{{"p", FrameKind::process}, {"f", FrameKind::user}};
  std::vector<FlameFrame> k{{"p", FrameKind::process}, {"f", FrameKind::kernel}};
  g.add(u, 1);
  g.add(k, 1);
  std::string svg = g.svg("t", "s", 1200);
  size_t first = svg.find("<title>f ("), second = svg.find("<title>f (", first + 1);
  EXPECT_NE(second, std::string::npos) << "a user and a kernel frame of one name are two frames";
}

}  // namespace
}  // namespace kscope

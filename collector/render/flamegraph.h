// A flame graph of sampled stacks, written as a standalone SVG document by kscope itself
// (after Brendan Gregg's flamegraph.pl): each frame a box as wide as its share of the
// samples, callers below callees, siblings in name order, colored by kind, with its name,
// sample count and share in a tooltip; a click zooms into a frame, and a search box
// highlights the frames whose names match.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kscope {

enum class FrameKind : uint8_t {
  process,  // the thread's name: the bottom frame of each stack
  user,
  kernel,
  unknown,  // a placeholder: an address nothing names, a lost stack
};

struct FlameFrame {
  std::string_view name;
  FrameKind kind;
};

class FlameGraph {
 public:
  FlameGraph();
  // One stack, root first, seen `count` times.
  void add(std::span<const FlameFrame> root_first, uint64_t count);
  uint64_t total() const { return nodes_[0].count; }
  // The SVG document: `title` and `subtitle` on top, `width` pixels wide.
  std::string svg(std::string_view title, std::string_view subtitle, int width = 1200) const;

 private:
  struct Node {
    std::string name;
    FrameKind kind;
    uint64_t count = 0;
    std::map<std::string, size_t> children;  // by name (after the kind's letter): name order
  };
  std::vector<Node> nodes_;  // nodes_[0]: "all"
};

// The text of an XML attribute or element: &, <, >, " and ' escaped.
std::string xml_escape(std::string_view s);

}  // namespace kscope

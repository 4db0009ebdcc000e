// Reading kscope's YAML configuration: the value and the place it came from (FILE:LINE:COL
// and the key path, in every error), typed scalars with ranges (counts, durations, sizes,
// addresses), and maps whose unknown and duplicate keys are refused with a suggestion.
// config.cpp reads the collector's settings with these, sinks_config.cpp its sinks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "base/result.h"

namespace kscope::collect {

using std::chrono::milliseconds;

// Ranges: the parser checks them and the default YAML's comments print them.
struct CountRange {
  uint64_t lo, hi;
  std::string_view why;  // the hint of an out-of-range value
};
struct DurationRange {
  milliseconds lo, hi;
  std::string_view why;
};
struct SizeRange {
  uint64_t lo, hi;
  std::string_view why;
};
constexpr milliseconds kSecond{1000}, kMinute{60'000}, kHour{3'600'000}, kDay{86'400'000};
constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;

std::string format_duration(milliseconds d);  // 1500ms, 15s, 10m, 1d
std::string format_size(uint64_t b);          // 128MiB, 1GiB, 1536KiB

// A value and the place to point at. A missing value (`key:` and nothing) carries the mark
// of the next token, maybe lines below, so errors about it point at its key instead.
struct Item {
  YAML::Node node;
  YAML::Mark mark;
  std::string path;  // "limits.series_ttl", "labels[1]"; "" for the document
};

std::string join(std::string_view path, std::string_view key);

struct Reader {
  std::string file;
  // Every key path of the file, to say where a key placed at the wrong level belongs.
  std::span<const std::string_view> paths;

  std::unexpected<Error> error(const YAML::Mark& m, std::string_view path, std::string_view what,
                               std::string hint = {}) const {
    std::string where =
        m.is_null() ? file : fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
    if (path.empty()) return fail(fmt::format("{}: {}", where, what), std::move(hint));
    return fail(fmt::format("{}: {}: {}", where, path, what), std::move(hint));
  }
  std::unexpected<Error> error(const Item& v, std::string_view what, std::string hint = {}) const {
    return error(v.mark, v.path, what, std::move(hint));
  }
  // "FILE:LINE:COL": where a value was written, for errors found only when it is used.
  std::string at(const Item& v) const {
    return fmt::format("{}:{}:{}", file, v.mark.line + 1, v.mark.column + 1);
  }
  // "FILE:LINE:COL: path".
  std::string where(const Item& v) const { return fmt::format("{}: {}", at(v), v.path); }
};

std::string describe(const YAML::Node& n);  // what the user wrote, for "got ..."
std::string lowercase(std::string_view s);
// The candidate close enough to `word` to be what was meant, or "".
std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates);
std::string list_words(std::span<const std::string_view> words, std::string_view last = "and");

bool all_digits(std::string_view s);
Result<bool> read_bool(const Reader& r, const Item& v, std::string_view expected = "true or false");
Result<uint32_t> read_count(const Reader& r, const Item& v, const CountRange& range);
Result<milliseconds> read_duration(const Reader& r, const Item& v, const DurationRange& range);
Result<uint64_t> read_size(const Reader& r, const Item& v, const SizeRange& range);
Result<std::string> read_string(const Reader& r, const Item& v, std::string_view expected);
// A file's path, absolute (it means the same file whatever the working directory), or "";
// `example` ("token_file: /etc/kscope/token") is the hint of a relative one.
Result<std::string> read_absolute_path(const Reader& r, const Item& v, std::string_view example);
// What an address is for: its usual port (the hints' examples), and whether kscope listens
// there or connects to it.
struct AddressUse {
  uint16_t port;
  bool listen;
};
inline constexpr AddressUse kMetricsAddress{9437, true}, kStreamAddress{9438, true},
    kIpfixAddress{4739, false}, kKafkaAddress{9092, false};
// Why an address is not HOST:PORT, or "" when it is.
std::string listen_problem(std::string_view s, const AddressUse& use);
Result<std::string> read_listen(const Reader& r, const Item& v, const AddressUse& use);

// ---- maps ----
struct Field {
  std::string_view key;
  std::function<Result<void>(const Item&)> read;
};

Result<void> read_map(const Reader& r, const Item& map, std::span<const Field> fields);

template <class T, class F>
std::function<Result<void>(const Item&)> into(T& out, F parse) {
  return [&out, parse](const Item& v) -> Result<void> {
    auto x = parse(v);
    if (!x) return std::unexpected(x.error());
    out = std::move(*x);
    return {};
  };
}

// into(), and where the value was written (Reader::at) into `at`.
template <class T, class F>
std::function<Result<void>(const Item&)> into_at(const Reader& r, T& out, std::string& at,
                                                 F parse) {
  return [&r, &out, &at, parse](const Item& v) -> Result<void> {
    auto x = parse(v);
    if (!x) return std::unexpected(x.error());
    out = std::move(*x);
    at = r.at(v);
    return {};
  };
}

}  // namespace kscope::collect

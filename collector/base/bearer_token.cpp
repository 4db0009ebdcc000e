#include "base/bearer_token.h"

#include "base/checked_file.h"

#include <fmt/format.h>

namespace kscope {

namespace {

constexpr size_t kMaxToken = 4096;

// RFC 6750 §2.1 b64token: what a bearer token may be made of.
bool b64token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._~+/=").find(c) != std::string_view::npos;
}

}  // namespace

Result<std::string> read_token_file(const std::string& path) {
  auto text = read_checked_file(
      path, "token file",
      FileRules{.max_bytes = kMaxToken + 2,
                .secret = true,
                .missing_hint = "make one: head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE",
                .unreadable_hint = "the token file must be a regular file kscope can read",
                .directory_hint =
                    "token_file names the file that holds the token, not its directory"});
  if (!text) return text;
  size_t eol = text->find('\n');
  std::string_view token(text->data(), eol == std::string::npos ? text->size() : eol);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t'))
    token.remove_suffix(1);
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  if (token.empty())
    return fail(fmt::format("token file {}: its first line is empty", path),
                "put the token on the first line: head -c 32 /dev/urandom | base64 > FILE");
  if (token.size() > kMaxToken)
    return fail(fmt::format("token file {}: the token is longer than {} bytes", path, kMaxToken),
                "32 random bytes in base64 are enough");
  for (char c : token)
    if (!b64token_char(c))
      return fail(fmt::format("token file {}: the token holds a byte a bearer token cannot "
                              "(RFC 6750: letters, digits and -._~+/=)",
                              path),
                  "head -c 32 /dev/urandom | base64 > FILE makes one that fits");
  return std::string(token);
}

bool token_matches(std::string_view given, std::string_view expected) {
  if (given.size() != expected.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
  return diff == 0;
}

bool bearer_matches(std::string_view authorization, std::string_view expected) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return false;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  return token_matches(token, expected);
}

}  // namespace kscope

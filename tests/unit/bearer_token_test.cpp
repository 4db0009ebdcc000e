// The bearer token's file and its comparison: what read_token_file refuses, each with the
// file and the fix, and what it takes.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "base/bearer_token.h"

namespace kscope {
namespace {

class TokenFile : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/kscope-token-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::string write(const std::string& text, mode_t mode) {
    std::string path = dir_ + "/token";
    ::unlink(path.c_str());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_EQ(::write(fd, text.data(), text.size()), ssize_t(text.size()));
    ::fchmod(fd, mode);
    ::close(fd);
    return path;
  }

  std::string dir_;
};

TEST_F(TokenFile, FirstLineTrimmed) {
  auto t = read_token_file(write("  c2VjcmV0+/=._~-\r\nsecond line\n", 0600));
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, "c2VjcmV0+/=._~-");
  auto ro = read_token_file(write("abc\n", 0400));
  ASSERT_TRUE(ro);
  EXPECT_EQ(*ro, "abc");
}

TEST_F(TokenFile, OthersMayNotReadIt) {
  for (mode_t mode : {0640, 0604, 0660, 0610}) {
    std::string path = write("abc\n", mode);
    auto t = read_token_file(path);
    ASSERT_FALSE(t) << std::oct << mode;
    EXPECT_EQ(t.error().message,
              fmt::format("token file {}: group or others may access it (mode {:04o})", path, mode));
    EXPECT_EQ(t.error().hint, "chmod 600 " + path);
  }
}

TEST_F(TokenFile, Refused) {
  std::string missing = dir_ + "/none";
  auto t = read_token_file(missing);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, "token file " + missing + ": No such file or directory");
  EXPECT_EQ(t.error().hint, "make one: head -c 32 /dev/urandom | base64 > FILE; chmod 600 FILE");

  std::string path = write("\n abc\n", 0600);
  t = read_token_file(path);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, "token file " + path + ": its first line is empty");

  t = read_token_file(write("has space\n", 0600));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message,
            "token file " + path +
                ": the token holds a byte a bearer token cannot (RFC 6750: letters, digits and "
                "-._~+/=)");

  t = read_token_file(write(std::string(5000, 'a'), 0600));
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, "token file " + path + ": the token is longer than 4096 bytes");

  t = read_token_file(dir_);  // a directory
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, "token file " + dir_ + ": not a readable regular file");

}

// A Kubernetes Secret volume's file is a link into ..data: followed, the mode checked on the
// file it names.
TEST_F(TokenFile, SymbolicLinkFollowedAndItsTargetChecked) {
  std::string path = write("abc\n", 0600);
  std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  auto t = read_token_file(link);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(*t, "abc");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  t = read_token_file(link);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message,
            "token file " + link + ": group or others may access it (mode 0644)");
}

TEST(BearerToken, Matches) {
  EXPECT_TRUE(token_matches("abc", "abc"));
  EXPECT_FALSE(token_matches("abd", "abc"));
  EXPECT_FALSE(token_matches("ab", "abc"));
  EXPECT_FALSE(token_matches("abcd", "abc"));
  EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
  EXPECT_TRUE(bearer_matches("bEARER abc", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer  abc ", "abc"));
  EXPECT_FALSE(bearer_matches("Basic abc", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer", "abc"));
  EXPECT_FALSE(bearer_matches("", "abc"));
  EXPECT_FALSE(bearer_matches("Bearerabc", "abc"));
}

}  // namespace
}  // namespace kscope

// --cgroup against the real cgroup2 hierarchy: the test creates its own child cgroup and
// removes it. Needs root (and a writable cgroup2 mount); skips with the reason otherwise. The
// unit tier covers the rest of resolve_cgroup() against a directory of its own.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "bpf/mounts.h"
#include "filter/task_filter.h"

namespace kscope {
namespace {

uint64_t inode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st.st_ino;
}

class Cgroup2 : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "privileged test skipped: creating a cgroup needs root";
    auto m = cgroup2_mount();
    if (!m) GTEST_SKIP() << "privileged test skipped: " << m.error().message;
    mount_ = *m;
    name_ = "kscope-cgroup-test-" + std::to_string(::getpid());
    path_ = mount_ + "/" + name_;
    if (::mkdir(path_.c_str(), 0755) != 0)
      GTEST_SKIP() << "privileged test skipped: cannot create " << path_ << ": "
                   << std::strerror(errno);
    made_ = true;
  }
  void TearDown() override {
    if (made_) {
      EXPECT_EQ(::rmdir(path_.c_str()), 0) << path_ << ": " << std::strerror(errno);
    }
  }
  std::string mount_, name_, path_;
  bool made_ = false;
};

TEST_F(Cgroup2, MountRootIsItsInode) {
  auto id = resolve_cgroup(mount_);
  ASSERT_TRUE(id.has_value()) << id.error().message;
  EXPECT_EQ(*id, inode_of(mount_));
  // Relative paths are taken under the mount.
  auto dot = resolve_cgroup(".");
  ASSERT_TRUE(dot.has_value()) << dot.error().message;
  EXPECT_EQ(*dot, inode_of(mount_));
}

TEST_F(Cgroup2, AbsoluteRelativeAndHierarchyPaths) {
  uint64_t ino = inode_of(path_);
  auto abs = resolve_cgroup(path_);
  ASSERT_TRUE(abs.has_value()) << abs.error().message;
  EXPECT_EQ(*abs, ino);
  auto rel = resolve_cgroup(name_);
  ASSERT_TRUE(rel.has_value()) << rel.error().message;
  EXPECT_EQ(*rel, ino);
  // As /proc/PID/cgroup shows it: absolute within the hierarchy.
  auto in_hierarchy = resolve_cgroup("/" + name_);
  ASSERT_TRUE(in_hierarchy.has_value()) << in_hierarchy.error().message;
  EXPECT_EQ(*in_hierarchy, ino);
}

TEST_F(Cgroup2, TaskClauseCarriesTheCgroupId) {
  Filter f;
  auto added = add_task_clauses({.cgroup = name_}, f);
  ASSERT_TRUE(added.has_value()) << added.error().message;
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.clause(0).key, "cgroup_id");
  EXPECT_EQ(f.clause(0).operand,
            (std::variant<int64_t, std::string>(static_cast<int64_t>(inode_of(path_)))));
  EXPECT_EQ(f.clause(0).origin, "--cgroup " + name_);
}

TEST_F(Cgroup2, FileInsideTheHierarchyIsAnError) {
  std::string file = path_ + "/cgroup.procs";
  auto id = resolve_cgroup(file);
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().message, "--cgroup: " + file + " is not a cgroup v2 directory");
}

TEST_F(Cgroup2, MissingRelativePathIsAnError) {
  auto id = resolve_cgroup(name_ + "/kscope-no-such-cgroup");
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().message,
            "--cgroup: " + path_ + "/kscope-no-such-cgroup: No such file or directory");
}

}  // namespace
}  // namespace kscope

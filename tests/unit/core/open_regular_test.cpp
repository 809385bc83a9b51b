// fs::open_regular, the one way store files are opened for reading: a FIFO
// or device named like a mailbox or settings file is refused at once instead
// of blocking the run (a FIFO named account.settings once hung inventory and
// migrate), a symlink is not followed, a directory is refused.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "common/temp_tree.h"
#include "core/fs.h"

namespace mailmig {
namespace {

// A regression would block forever in open(2): the alarm ends the test
// binary instead (ctest shows the failure).
class NoHang {
 public:
  NoHang() { ::alarm(20); }
  ~NoHang() { ::alarm(0); }
  NoHang(const NoHang&) = delete;
  NoHang& operator=(const NoHang&) = delete;
};

TEST(OpenRegular, RegularFileOpensWithItsSize) {
  mailmig::testing::TempTree tree;
  tree.file("INBOX.mbox", "From a\n\nx\n");
  std::uint64_t size = 0;
  const int fd = fs::open_regular(AT_FDCWD, tree.path("INBOX.mbox").c_str(), &size);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(10U, size);
  EXPECT_EQ(0, ::fcntl(fd, F_GETFL) & O_NONBLOCK);
  ::close(fd);
}

TEST(OpenRegular, FifoIsRefusedWithoutBlocking) {
  const NoHang guard;
  mailmig::testing::TempTree tree;
  ASSERT_EQ(0, ::mkfifo(tree.path("account.settings").c_str(), 0600));
  errno = 0;
  EXPECT_EQ(-1, fs::open_regular(AT_FDCWD, tree.path("account.settings").c_str()));
  EXPECT_EQ(EINVAL, errno);
}

TEST(OpenRegular, DeviceDirectoryAndSymlinkAreRefused) {
  mailmig::testing::TempTree tree;
  tree.file("real", "x");
  tree.symlink(tree.path("real"), "link");
  tree.dir("dir.mdir");
  errno = 0;
  EXPECT_EQ(-1, fs::open_regular(AT_FDCWD, tree.path("link").c_str()));
  EXPECT_EQ(ELOOP, errno);
  EXPECT_EQ(-1, fs::open_regular(AT_FDCWD, tree.path("dir.mdir").c_str()));
  EXPECT_EQ(EISDIR, errno);
  EXPECT_EQ(-1, fs::open_regular(AT_FDCWD, "/dev/null"));
  EXPECT_EQ(EINVAL, errno);
}

}  // namespace
}  // namespace mailmig

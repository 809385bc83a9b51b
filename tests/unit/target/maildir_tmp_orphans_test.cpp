// Which files in a Maildir's tmp/ a killed run of this host left behind: the
// writer's pid is read from the name only for this host's names, so another
// host's delivery (a shared NFS Maildir) or a foreign name is never touched.
#include <gtest/gtest.h>
#include <unistd.h>

#include "format/maildir/file_name.h"
#include "target/maildir/unique_stem.h"

namespace mailmig::maildir {
namespace {

TEST(MaildirTmpOrphans, WriterPidOfThisHostsNames) {
  EXPECT_EQ(4242, tmp_writer_pid("1700000000.M123456P4242Q17.mx1", "mx1"));
  EXPECT_EQ(77, tmp_writer_pid("1700000000.M5P77.mx1", "mx1"));  // Dovecot's form without Q
  EXPECT_EQ(77, tmp_writer_pid("1700000000.M5P77.mx1,S=120", "mx1"));
  EXPECT_EQ(77, tmp_writer_pid("1700000000.M5P77.mx1:2,S", "mx1"));
  const std::string ours = unique_stem();
  EXPECT_EQ(static_cast<long>(::getpid()), tmp_writer_pid(ours, local_host_in_names()));
}

TEST(MaildirTmpOrphans, OtherHostsAndOtherNamesAreNotOurs) {
  EXPECT_EQ(std::nullopt, tmp_writer_pid("1700000000.M123456P4242Q17.mx2", "mx1"));
  EXPECT_EQ(std::nullopt, tmp_writer_pid("1700000000.M123456P4242Q17.mx1.example", "mx1"));
  EXPECT_EQ(std::nullopt, tmp_writer_pid("1700000000.P4242.mx1", "mx1"));
  EXPECT_EQ(std::nullopt, tmp_writer_pid("1700000000.M1P.mx1", "mx1"));
  EXPECT_EQ(std::nullopt, tmp_writer_pid("1700000000.M1P0.mx1", "mx1"));
  EXPECT_EQ(std::nullopt, tmp_writer_pid("1700000000.M1P99999999999999999999.mx1", "mx1"));
  EXPECT_EQ(std::nullopt, tmp_writer_pid("courier.12345.mx1", "mx1"));
  EXPECT_EQ(std::nullopt, tmp_writer_pid("", "mx1"));
}

}  // namespace
}  // namespace mailmig::maildir

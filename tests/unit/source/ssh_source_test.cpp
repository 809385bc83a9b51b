// The pure parts of maildir+ssh://: URL parsing and the known_hosts decision
// (what a refused host key says), and the local FileTree the Maildir source
// reads through (the rules of every on-disk source: no symlink followed,
// regular files only, bounded small reads).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <string>

#include "common/read_all.h"
#include "common/temp_tree.h"
#include "core/error.h"
#include "source/sftp/known_hosts.h"
#include "source/sftp/ssh_url.h"
#include "source/tree/file_tree.h"

namespace mailmig {
namespace {

using sftp::HostKeyFacts;
using sftp::HostKeyStatus;
using sftp::parse_maildir_ssh_url;

TEST(MaildirSshUrl, UserHostPortPath) {
  const auto url = parse_maildir_ssh_url("maildir+ssh://root@192.0.2.10:2222/home/e-smith/files/users");
  EXPECT_EQ("root", url.user);
  EXPECT_EQ("192.0.2.10", url.host);
  EXPECT_EQ(2222, url.port);
  EXPECT_EQ("/home/e-smith/files/users", url.path);
  EXPECT_EQ("root@192.0.2.10:2222", sftp::ssh_endpoint(url));
}

TEST(MaildirSshUrl, DefaultsAndIpv6) {
  const auto plain = parse_maildir_ssh_url("maildir+ssh://old.example.org/var/vmail");
  EXPECT_EQ("", plain.user);
  EXPECT_EQ("old.example.org", plain.host);
  EXPECT_EQ(22, plain.port);
  EXPECT_EQ("/var/vmail", plain.path);
  const auto v6 = parse_maildir_ssh_url("maildir+ssh://admin@[2001:db8::1]:22022/srv/mail");
  EXPECT_EQ("2001:db8::1", v6.host);
  EXPECT_EQ(22022, v6.port);
  EXPECT_EQ("admin@[2001:db8::1]:22022", sftp::ssh_endpoint(v6));
  EXPECT_EQ("/", parse_maildir_ssh_url("maildir+ssh://h/x").path.substr(0, 1));
}

TEST(MaildirSshUrl, RefusesWhatIsNotAUrl) {
  for (const char* bad :
       {"maildir+ssh://host", "maildir+ssh://host/", "maildir+ssh:///path", "maildir+ssh://@h/p",
        "maildir+ssh://h:/p", "maildir+ssh://h:0/p", "maildir+ssh://h:65536/p", "maildir+ssh://h:2x/p",
        "maildir+ssh://[::1/p", "maildir+ssh://[::1]x/p", "maildir:/var/vmail"}) {
    EXPECT_THROW(parse_maildir_ssh_url(bad), std::invalid_argument) << bad;
  }
  EXPECT_TRUE(sftp::is_maildir_ssh_spec("maildir+ssh://h/p"));
  EXPECT_FALSE(sftp::is_maildir_ssh_spec("maildir:/p"));
}

HostKeyFacts facts(int port) {
  return HostKeyFacts{
      .host = "192.0.2.10",
      .port = port,
      .known_hosts = "/root/.ssh/known_hosts",
      .key_type = "ssh-ed25519",
      .fingerprint = "SHA256:abcDEF123",
      .entry = port == 22 ? "192.0.2.10 ssh-ed25519 AAAAC3Nz" : "[192.0.2.10]:2222 ssh-ed25519 AAAAC3Nz"};
}

TEST(KnownHosts, KnownKeyIsAccepted) {
  EXPECT_EQ(std::nullopt, host_key_refusal(HostKeyStatus::Known, facts(22)));
}

TEST(KnownHosts, UnknownKeyNamesFingerprintAndTheWayToAcceptIt) {
  for (const HostKeyStatus status : {HostKeyStatus::Unknown, HostKeyStatus::NoFile}) {
    const auto message = host_key_refusal(status, facts(2222));
    ASSERT_TRUE(message.has_value());
    EXPECT_NE(std::string::npos, message->find("SHA256:abcDEF123")) << *message;
    EXPECT_NE(std::string::npos, message->find("[192.0.2.10]:2222 ssh-ed25519 AAAAC3Nz")) << *message;
    EXPECT_NE(std::string::npos,
              message->find("ssh-keyscan -p 2222 -t ed25519 192.0.2.10 >> /root/.ssh/known_hosts"))
        << *message;
    EXPECT_NE(std::string::npos, message->find("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))
        << *message;
  }
  EXPECT_NE(std::string::npos, host_key_refusal(HostKeyStatus::NoFile, facts(22))->find("does not exist"));
}

TEST(KnownHosts, ChangedKeyWarnsAndSaysHowToRemoveTheOldOne) {
  const auto message = host_key_refusal(HostKeyStatus::Changed, facts(2222));
  ASSERT_TRUE(message.has_value());
  EXPECT_NE(std::string::npos, message->find("HAS CHANGED"));
  EXPECT_NE(std::string::npos, message->find("ssh-keygen -R '[192.0.2.10]:2222' -f /root/.ssh/known_hosts"))
      << *message;
  EXPECT_NE(std::string::npos, message->find("SHA256:abcDEF123"));
  EXPECT_NE(std::string::npos, host_key_refusal(HostKeyStatus::OtherType, facts(22))->find("another type"));
  EXPECT_TRUE(host_key_refusal(HostKeyStatus::Error, facts(22)).has_value());
  EXPECT_EQ("192.0.2.10", sftp::known_hosts_name("192.0.2.10", 22));
  EXPECT_EQ("[192.0.2.10]:2222", sftp::known_hosts_name("192.0.2.10", 2222));
}

using testing::read_all;

TEST(LocalFileTree, ListsStatsReadsAndStreams) {
  testing::TempTree tree;
  tree.dir("m/cur");
  tree.file("m/cur/b", "second\n");
  tree.file("m/cur/a", "first message\n");
  ASSERT_EQ(0, ::symlink("a", tree.path("m/cur/link").c_str()));
  const std::shared_ptr<FileTree> files = local_file_tree();
  const std::vector<TreeEntry> entries = files->list(tree.path("m/cur"));
  ASSERT_EQ(3U, entries.size());
  EXPECT_EQ("a", entries[0].name);
  EXPECT_EQ(fs::Type::File, entries[0].type);
  EXPECT_EQ("link", entries[2].name);
  EXPECT_EQ(fs::Type::Symlink, entries[2].type);
  const auto st = files->stat(tree.path("m/cur/a"));
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(14U, st->size);
  EXPECT_EQ(fs::Type::Directory, files->stat(tree.path("m"))->type);
  EXPECT_FALSE(files->stat(tree.path("m/none")).has_value());
  EXPECT_EQ("second\n", files->read_small(tree.path("m/cur/b"), 100));
  OpenedStream whole = files->open(tree.path("m/cur/a"));
  EXPECT_EQ(14U, whole.size);
  EXPECT_EQ("first message\n", read_all(*whole.reader, 3));
  OpenedStream part = files->open(tree.path("m/cur/a"), 5);
  EXPECT_EQ("first", read_all(*part.reader, 4096));
  EXPECT_EQ(files, files->for_account());  // stateless: shared between accounts
}

TEST(LocalFileTree, NeverFollowsSymlinksAndBoundsSmallReads) {
  testing::TempTree tree;
  tree.file("a", "0123456789");
  ASSERT_EQ(0, ::symlink("a", tree.path("link").c_str()));
  ASSERT_EQ(0, ::mkfifo(tree.path("fifo").c_str(), 0600));
  const std::shared_ptr<FileTree> files = local_file_tree();
  EXPECT_THROW(files->open(tree.path("link")), IoError);
  EXPECT_THROW(files->read_small(tree.path("link"), 100), IoError);
  EXPECT_THROW(files->open(tree.path("fifo")), IoError);  // does not hang either
  try {
    (void)files->read_small(tree.path("a"), 4);
    FAIL() << "a file over the limit was read";
  } catch (const IoError& e) {
    EXPECT_EQ(EFBIG, e.error_number());
  }
  try {
    (void)files->open(tree.path("gone"));
    FAIL() << "a missing file was opened";
  } catch (const IoError& e) {
    EXPECT_EQ(ENOENT, e.error_number());  // the Maildir source reports it as vanished
  }
}

}  // namespace
}  // namespace mailmig

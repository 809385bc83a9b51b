// Shared by the archive_*_test.cpp files: test archives written with
// libarchive's write API (tar in pax-restricted format, no compression, gzip
// or zstd; files, directories, symbolic and hard links with chosen modes and
// mtimes), and small helpers that read an opened archive through the Source
// interface only.
#pragma once

#define EXPECT_CONTAINS(text, part) EXPECT_TRUE(::mailmig::archive::support::contains((text), (part)))
#define EXPECT_NOT_CONTAINS(text, part) EXPECT_FALSE(::mailmig::archive::support::contains((text), (part)))

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/read_all.h"
#include "core/byte_reader.h"
#include "core/problem.h"
#include "source/archive/archive_source.h"
#include "source/source.h"

namespace mailmig::archive::support {

inline constexpr std::int64_t kMtime = 1700000000;

enum class Compression : std::uint8_t { None, Gzip, Zstd };

inline const char* compression_name(Compression c) {
  switch (c) {
    case Compression::None:
      return "tar";
    case Compression::Gzip:
      return "targz";
    case Compression::Zstd:
      return "tarzst";
  }
  return "tar";
}

inline const char* compression_suffix(Compression c) {
  switch (c) {
    case Compression::None:
      return ".tar";
    case Compression::Gzip:
      return ".tar.gz";
    case Compression::Zstd:
      return ".tar.zst";
  }
  return ".tar";
}

// Entries in the order they are added: the archive order is the test's choice.
class TarBuilder {
 public:
  enum class Kind : std::uint8_t { File, Dir, Symlink, Hardlink };
  struct Entry {
    std::string path;
    Kind kind = Kind::File;
    std::string data;
    std::string link;
    unsigned mode = 0600;
    std::int64_t mtime = kMtime;
  };

  TarBuilder& file(const std::string& path, const std::string& data, std::int64_t mtime = kMtime,
                   unsigned mode = 0600) {
    entries_.push_back(
        Entry{.path = path, .kind = Kind::File, .data = data, .link = {}, .mode = mode, .mtime = mtime});
    return *this;
  }
  TarBuilder& dir(const std::string& path, std::int64_t mtime = kMtime, unsigned mode = 0700) {
    entries_.push_back(
        Entry{.path = path, .kind = Kind::Dir, .data = {}, .link = {}, .mode = mode, .mtime = mtime});
    return *this;
  }
  TarBuilder& symlink(const std::string& path, const std::string& target) {
    entries_.push_back(Entry{
        .path = path, .kind = Kind::Symlink, .data = {}, .link = target, .mode = 0777, .mtime = kMtime});
    return *this;
  }
  TarBuilder& hardlink(const std::string& path, const std::string& target) {
    entries_.push_back(Entry{
        .path = path, .kind = Kind::Hardlink, .data = {}, .link = target, .mode = 0600, .mtime = kMtime});
    return *this;
  }
  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }

  // Writes the archive to `out`. Throws std::runtime_error on a libarchive failure.
  void write(const std::string& out, Compression compression = Compression::Gzip) const {
    const std::unique_ptr<::archive, int (*)(::archive*)> a(::archive_write_new(), ::archive_write_free);
    if (!a) throw std::runtime_error("archive_write_new");
    const auto check = [&](int r, const char* what) {
      if (r < ARCHIVE_WARN) {
        const char* why = ::archive_error_string(a.get());
        throw std::runtime_error(std::string(what) + ": " + (why != nullptr ? why : "?"));
      }
    };
    switch (compression) {
      case Compression::None:
        check(::archive_write_add_filter_none(a.get()), "filter none");
        break;
      case Compression::Gzip:
        check(::archive_write_add_filter_gzip(a.get()), "filter gzip");
        break;
      case Compression::Zstd:
        check(::archive_write_add_filter_zstd(a.get()), "filter zstd");
        break;
    }
    check(::archive_write_set_format_pax_restricted(a.get()), "format");
    check(::archive_write_open_filename(a.get(), out.c_str()), "open");
    for (const Entry& e : entries_) {
      const std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(::archive_entry_new(),
                                                                           ::archive_entry_free);
      ::archive_entry_set_pathname(entry.get(), e.path.c_str());
      ::archive_entry_set_mtime(entry.get(), static_cast<time_t>(e.mtime), 0);
      ::archive_entry_set_perm(entry.get(), e.mode);
      ::archive_entry_set_uid(entry.get(), 5001);
      ::archive_entry_set_gid(entry.get(), 5001);
      switch (e.kind) {
        case Kind::File:
          ::archive_entry_set_filetype(entry.get(), AE_IFREG);
          ::archive_entry_set_size(entry.get(), static_cast<la_int64_t>(e.data.size()));
          break;
        case Kind::Dir:
          ::archive_entry_set_filetype(entry.get(), AE_IFDIR);
          ::archive_entry_set_size(entry.get(), 0);
          break;
        case Kind::Symlink:
          ::archive_entry_set_filetype(entry.get(), AE_IFLNK);
          ::archive_entry_set_symlink(entry.get(), e.link.c_str());
          ::archive_entry_set_size(entry.get(), 0);
          break;
        case Kind::Hardlink:
          ::archive_entry_set_filetype(entry.get(), AE_IFREG);
          ::archive_entry_set_hardlink(entry.get(), e.link.c_str());
          ::archive_entry_set_size(entry.get(), 0);
          break;
      }
      check(::archive_write_header(a.get(), entry.get()), "header");
      std::size_t done = 0;
      while (done < e.data.size()) {
        const la_ssize_t n = ::archive_write_data(a.get(), e.data.data() + done, e.data.size() - done);
        if (n <= 0) check(ARCHIVE_FATAL, "data");
        done += static_cast<std::size_t>(n);
      }
    }
    check(::archive_write_close(a.get()), "close");
  }

 private:
  std::vector<Entry> entries_;
};

// A small RFC 822 message; `filler` bytes of pseudo-random printable text
// (incompressible enough that compressed offsets are predictable) make it large.
inline std::string message(const std::string& subject, std::size_t filler = 0, std::uint32_t seed = 1) {
  std::string out = "From: a@example.com\nTo: b@example.com\nSubject: " + subject +
                    "\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\nbody of " + subject + "\n";
  std::uint32_t state = seed * 2654435761U + 12345U;
  std::size_t column = 0;
  for (std::size_t i = 0; i < filler; ++i) {
    state = state * 1664525U + 1013904223U;
    if (++column == 77) {
      out += '\n';
      column = 0;
      continue;
    }
    out += static_cast<char>('!' + (state >> 24U) % 94U);
  }
  if (filler > 0) out += '\n';
  return out;
}

using testing::read_all;

inline std::string read_message(const Folder& folder, const MessageInfo& info) {
  const std::unique_ptr<ByteReader> reader = folder.open(info);
  return read_all(*reader);
}

struct Scanned {
  std::vector<MessageInfo> messages;
  std::vector<Problem> problems;
};

inline Scanned scan(Folder& folder) {
  Scanned out;
  folder.scan([&](const MessageInfo& m) { out.messages.push_back(m); },
              [&](Problem p) { out.problems.push_back(std::move(p)); });
  return out;
}

inline std::vector<std::string> names_of(const std::vector<FolderInfo>& folders) {
  std::vector<std::string> out;
  out.reserve(folders.size());
  for (const FolderInfo& f : folders) out.push_back(f.name);
  return out;
}

inline std::vector<std::string> ids_of(const std::vector<MessageInfo>& messages) {
  std::vector<std::string> out;
  out.reserve(messages.size());
  for (const MessageInfo& m : messages) out.push_back(m.id);
  return out;
}

inline ::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

inline std::string all_messages(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) out += p.describe() + "\n";
  return out;
}

// The archive read through the public factory, with its domains and accounts.
struct Opened {
  OpenedArchive archive;
  std::vector<DomainInfo> domains;
  std::vector<Problem> problems;  // from Source::domains()

  [[nodiscard]] Source& source() const { return *archive.source; }

  [[nodiscard]] std::vector<AccountInfo> accounts() const {
    std::vector<AccountInfo> out;
    for (const DomainInfo& d : domains) {
      for (AccountInfo& a : archive.source->accounts(d, [](const Problem&) {})) out.push_back(std::move(a));
    }
    return out;
  }

  [[nodiscard]] std::unique_ptr<Account> account(const std::string& domain, const std::string& name) const {
    for (const AccountInfo& a : accounts()) {
      if (a.domain == domain && a.name == name) return archive.source->open_account(a);
    }
    ADD_FAILURE() << "no account " << name << "@" << domain;
    return nullptr;
  }
};

inline Opened open(const std::string& path, const ArchiveOptions& options = {}) {
  Opened out{.archive = open_archive(path, options), .domains = {}, .problems = {}};
  out.domains = out.archive.source->domains([&](Problem p) { out.problems.push_back(std::move(p)); });
  return out;
}

// The folder named `name` of `account`, with the problems folders() reported.
struct FolderList {
  std::vector<FolderInfo> folders;
  std::vector<Problem> problems;

  [[nodiscard]] const FolderInfo& get(const std::string& name) const {
    for (const FolderInfo& f : folders) {
      if (f.name == name) return f;
    }
    throw std::runtime_error("no folder " + name);
  }
};

inline FolderList folders_of(Account& account) {
  FolderList out;
  out.folders = account.folders([&](Problem p) { out.problems.push_back(std::move(p)); });
  return out;
}

}  // namespace mailmig::archive::support

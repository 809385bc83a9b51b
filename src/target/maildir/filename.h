// Maildir file names as Dovecot writes them:
//   <secs>.M<usecs>P<pid>Q<n>.<host>,S=<file size>,W=<RFC822.SIZE>:2,<letters>
// The part before ':' is the "base" that dovecot-uidlist names; the info part
// after ":2," holds the flags in ASCII order: D draft, F flagged, R answered,
// S seen, T deleted (and P passed, which IMAP does not have), then the
// keyword letters a..z of dovecot-keywords.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/message.h"

namespace mailmig::maildir {

// A name unique on this host, used for the file in tmp/: time, microseconds,
// pid and a process-wide counter (threads of one process deliver within the
// same microsecond), host name with '/' and ':' escaped as Dovecot does
// ("\057", "\072").
std::string unique_stem();
// The host part of unique_stem()'s names on this host.
const std::string& local_host_in_names();
// The writer's pid in a tmp/ file name "<secs>.M<usecs>P<pid>[Q<n>].<host>..."
// (unique_stem()'s form, also Dovecot's) when `host` wrote it; nullopt for
// another host's file or any other name. A run killed between writing a file
// in tmp/ and moving it to cur/ leaves it there: the next run removes the
// files whose writer on this host is gone (Dovecot only after 36 hours).
std::optional<long> tmp_writer_pid(std::string_view name, std::string_view host);
// The base name in cur/ and in dovecot-uidlist: the stem with the sizes that
// spare Dovecot a stat() and a read (S= file size, W= RFC822.SIZE).
std::string base_with_sizes(const std::string& stem, std::uint64_t file_size, std::uint64_t rfc822_size);

struct ParsedName {
  std::string base;                    // up to the ':'
  std::optional<std::uint64_t> size;   // S=
  std::optional<std::uint64_t> vsize;  // W=
  std::string letters;                 // after ":2," (empty without an info part)
};
ParsedName parse_name(std::string_view file_name);

Flags flags_of(std::string_view letters);
// Letters that are neither IMAP flags nor keywords (e.g. P), to keep on renames.
std::string other_letters(std::string_view letters);
// Sorted info letters of `flags`, keyword letters and the kept others.
std::string info_letters(Flags flags, std::string_view keyword_letters, std::string_view others = {});
std::string file_name(const std::string& base, const std::string& letters);

// Dovecot's maildir_filename_sort_cmp: seconds, then microseconds, then the
// base; the order in which it numbers files the uidlist does not name yet.
bool dovecot_order(std::string_view a, std::string_view b);

}  // namespace mailmig::maildir

// Maildir message file names (cr.yp.to/proto/maildir.html with the Maildir++
// and Dovecot extensions), read and written in one place:
//   <secs>.M<usecs>P<pid>Q<n>.<host>,S=<file size>,W=<RFC822.SIZE>:2,<letters>
// The part before the first ':' is the "base" that dovecot-uidlist names. The
// info part is the one after the last ':' when that reads ":2," (Dovecot's
// maildir_filename_get_flags uses strrchr): flags D draft, F flagged, P passed
// (no IMAP flag), R answered, S seen, T trashed (\Deleted), then the keyword
// letters a..z of dovecot-keywords. Rules: docs/maildir.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/message.h"

namespace mailmig::maildir {

struct FileName {
  std::string base;                          // up to the first ':' (the dovecot-uidlist key)
  bool has_info = false;                     // ":2," present
  std::string letters;                       // after ":2," (empty without an info part)
  Flags flags = 0;                           // the IMAP flags among the letters
  std::uint32_t keyword_letters = 0;         // bit i: letter 'a'+i (dovecot-keywords index i)
  std::optional<std::uint64_t> file_size;    // ,S= (a hint: readers measure)
  std::optional<std::uint64_t> rfc822_size;  // ,W= (a hint: readers measure)
};

// Never fails: a name without an info part simply has no flags.
FileName parse_file_name(std::string_view name);

Flags flags_of(std::string_view letters);
// Bit i set for each letter 'a'+i.
std::uint32_t keyword_mask(std::string_view letters);
// Letters that are neither IMAP flags nor keywords (e.g. P), to keep on renames.
std::string other_letters(std::string_view letters);
// The info letters Dovecot writes: flags, keyword letters and kept others,
// sorted (ASCII order) and each once.
std::string info_letters(Flags flags, std::string_view keyword_letters, std::string_view others = {});
// "<base>:2,<letters>".
std::string file_name(std::string_view base, std::string_view letters);

// Dovecot's unique name "<secs>.M<usecs>P<pid>Q<counter>.<host>", with '/' and
// ':' in the host name written as "\057" and "\072".
std::string unique_stem(std::int64_t secs, std::int64_t usecs, std::int64_t pid, std::uint64_t counter,
                        std::string_view host);
// The writer's pid in a tmp/ file name "<secs>.M<usecs>P<pid>[Q<n>].<host>..."
// (unique_stem()'s form, also Dovecot's) when `host` (as written in names)
// wrote it; nullopt for another host's file or any other name. A run killed
// between writing a file in tmp/ and moving it to cur/ leaves it there: the
// next run removes the files whose writer on this host is gone (Dovecot only
// after 36 hours).
std::optional<long> tmp_writer_pid(std::string_view name, std::string_view host);
// The base in cur/ and in dovecot-uidlist: the stem with the sizes that spare
// Dovecot a stat() and a read (S= file size, W= RFC822.SIZE).
std::string base_with_sizes(std::string_view stem, std::uint64_t file_size, std::uint64_t rfc822_size);

// Dovecot's maildir_filename_sort_cmp: seconds, then microseconds, then the
// base; the order in which it numbers files the uidlist does not name yet.
bool dovecot_order(std::string_view a, std::string_view b);

}  // namespace mailmig::maildir

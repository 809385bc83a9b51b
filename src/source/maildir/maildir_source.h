// maildir:PATH -- Maildir++ trees (Dovecot, Courier). Finds the accounts with
// a --user-path pattern or, without one, by recognising the usual layouts.
#pragma once

#include <memory>
#include <string>

#include "source/source.h"
#include "source/tree/file_tree.h"

namespace mailmig::maildir {

struct TreeOptions {
  std::string user_path;  // pattern with %d %n %u; empty: detect the layout
  std::string domain;     // for layouts without a domain level
  std::string user;       // the account when PATH is one account (name or name@domain)
};

struct OpenedTree {
  std::unique_ptr<Source> source;
  std::string layout;  // how PATH was understood, for the one-line description
};

// Throws SourceError (user_paths.h) when PATH cannot be used as asked.
OpenedTree open_maildir_tree(const std::string& root, const TreeOptions& options);
// The same tree read through `tree` (maildir+ssh: SFTP); each account reads
// through tree->for_account().
OpenedTree open_maildir_tree(const std::string& root, const TreeOptions& options,
                             const std::shared_ptr<FileTree>& tree);

}  // namespace mailmig::maildir

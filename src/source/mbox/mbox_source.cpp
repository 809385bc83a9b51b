#include "source/mbox/mbox_source.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/ascii.h"
#include "core/fs.h"
#include "source/maildir/tree_source.h"
#include "source/maildir/user_paths.h"
#include "source/mbox/mbox_account.h"

namespace mailmig::mbox {
namespace {

using maildir::FoundAccount;
using maildir::SourceError;
using maildir::TreeAccount;

std::string require_domain(const MboxTreeOptions& options, const std::string& root,
                           const std::string& layout) {
  if (!options.tree.domain.empty()) return ascii_lower(options.tree.domain);
  throw SourceError(fmt::format(
      "{}: {} has no domain level; say which domain the accounts belong to with --domain", root, layout));
}

TreeAccount make_account(const MboxTreeOptions& options, const std::string& domain, const std::string& name,
                         const std::string& location) {
  std::string inbox;
  if (!options.inbox_path.empty()) inbox = maildir::substitute_user_path(options.inbox_path, domain, name);
  return TreeAccount{AccountInfo{.domain = domain, .name = name, .location = location, .kind = "mbox"},
                     inbox};
}

}  // namespace

maildir::OpenedTree open_mbox_tree(const std::string& root_arg, const MboxTreeOptions& options) {
  const std::string root = fs::real_path(root_arg).value_or(root_arg);
  const bool root_is_dir = maildir::is_directory(root);
  if (!root_is_dir && !maildir::is_regular_file(root))
    throw SourceError(fmt::format("{}: no such file or directory", root_arg));
  std::vector<Problem> problems;
  const ProblemFn collect = [&](Problem p) { problems.push_back(std::move(p)); };
  std::vector<TreeAccount> accounts;
  std::string layout;
  const auto single = [&](const std::string& what) {
    auto [name, domain] = maildir::split_user(options.tree.user);
    if (domain.empty()) domain = require_domain(options, root, what);
    if (name.empty()) name = maildir::owner_name(root).value_or("");
    if (name.empty()) throw SourceError(fmt::format("{}: {}; name its account with --user", root, what));
    accounts.push_back(make_account(options, domain, name, root));
    layout = what;
  };
  if (!options.tree.user_path.empty()) {
    const std::string domain = maildir::pattern_has_domain(options.tree.user_path)
                                   ? std::string()
                                   : require_domain(options, root, "the user path");
    for (const FoundAccount& f : maildir::expand_user_path(root, options.tree.user_path, collect)) {
      accounts.push_back(make_account(options, f.domain.empty() ? domain : f.domain, f.name, f.location));
    }
    layout = fmt::format("user path {}", options.tree.user_path);
  } else if (!root_is_dir) {
    single("a single mbox file (the INBOX)");
  } else {
    std::vector<FoundAccount> homes = maildir::expand_user_path(root, "%n/mail", collect);
    for (FoundAccount& f : maildir::expand_user_path(root, "%n/Mail", collect)) homes.push_back(std::move(f));
    std::erase_if(homes, [](const FoundAccount& f) { return !maildir::is_directory(f.location); });
    if (!homes.empty()) {
      const bool e_smith = root.ends_with("/files/users");
      layout = e_smith ? "SME Server/NethServer user homes (PATH/<user>/mail)"
                       : "home directories (PATH/<user>/mail)";
      const std::string domain = require_domain(options, root, layout);
      std::sort(homes.begin(), homes.end(),
                [](const FoundAccount& a, const FoundAccount& b) { return a.name < b.name; });
      for (const FoundAccount& f : homes) {
        if (!accounts.empty() && accounts.back().info.name == f.name) continue;  // mail/ wins over Mail/
        accounts.push_back(make_account(options, domain, f.name, f.location));
      }
    } else {
      single("one user's mbox directory");
    }
  }
  const MboxFormat format = options.format;
  auto source = std::make_unique<maildir::TreeSource>(
      std::move(accounts), std::move(problems), [format](const TreeAccount& account) {
        return std::make_unique<MboxAccount>(account.info, account.inbox, format);
      });
  return maildir::OpenedTree{std::move(source), layout};
}

}  // namespace mailmig::mbox

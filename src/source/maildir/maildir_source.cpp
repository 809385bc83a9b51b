#include "source/maildir/maildir_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "core/ascii.h"
#include "core/fs.h"
#include "source/maildir/maildir_account.h"
#include "source/maildir/tree_source.h"
#include "source/maildir/user_paths.h"

namespace mailmig::maildir {
namespace {

bool is_maildir(FileTree& tree, const std::string& path) {
  return is_directory(tree, fs::join(path, "cur"));
}

std::string require_domain(const TreeOptions& options, const std::string& root, const std::string& layout) {
  if (!options.domain.empty()) return ascii_lower(options.domain);
  throw SourceError(fmt::format(
      "{}: {} has no domain level; say which domain the accounts belong to with --domain", root, layout));
}

// SME Server and NethServer keep user homes in /home/e-smith/files/users/<user>/.
bool is_e_smith_homes(const std::string& root) {
  return root.ends_with("/files/users") || root.ends_with("/files/users/");
}

std::vector<TreeAccount> to_accounts(FileTree& tree, const std::vector<FoundAccount>& found,
                                     const std::string& default_domain, std::vector<Problem>& problems) {
  std::vector<TreeAccount> out;
  for (const FoundAccount& f : found) {
    if (!is_maildir(tree, f.location)) {
      problems.push_back(Problem{.scope = Scope::Account,
                                 .domain = f.domain.empty() ? default_domain : f.domain,
                                 .account = f.name,
                                 .file = f.location,
                                 .message = "matches the user path but is not a Maildir (no cur/): skipped"});
      continue;
    }
    const std::string domain = f.domain.empty() ? default_domain : f.domain;
    if (!out.empty() && out.back().info.domain == domain && out.back().info.name == f.name) continue;
    out.push_back(TreeAccount{
        AccountInfo{.domain = domain, .name = f.name, .location = f.location, .kind = "maildir"}, {}});
  }
  return out;
}

}  // namespace

OpenedTree open_maildir_tree(const std::string& root_arg, const TreeOptions& options) {
  return open_maildir_tree(root_arg, options, local_file_tree());
}

OpenedTree open_maildir_tree(const std::string& root_arg, const TreeOptions& options,
                             const std::shared_ptr<FileTree>& files) {
  FileTree& tree = *files;
  const std::string root = tree.real_path(root_arg).value_or(root_arg);
  if (!is_directory(tree, root)) throw SourceError(fmt::format("{}: no such directory", root_arg));
  std::vector<Problem> problems;
  const ProblemFn collect = [&](Problem p) { problems.push_back(std::move(p)); };
  std::vector<TreeAccount> accounts;
  std::string layout;
  if (!options.user_path.empty()) {
    const std::string domain = pattern_has_domain(options.user_path)
                                   ? std::string()
                                   : require_domain(options, root, "the user path");
    accounts = to_accounts(tree, expand_user_path(tree, root, options.user_path, collect), domain, problems);
    layout = fmt::format("user path {}", options.user_path);
  } else if (is_maildir(tree, root)) {
    auto [name, domain] = split_user(options.user);
    if (domain.empty()) domain = require_domain(options, root, "a single Maildir");
    if (name.empty()) name = tree.owner_name(root).value_or("");
    if (name.empty())
      throw SourceError(fmt::format("{}: a single Maildir; name its account with --user", root));
    accounts.push_back(
        TreeAccount{AccountInfo{.domain = domain, .name = name, .location = root, .kind = "maildir"}, {}});
    layout = "a single Maildir";
  } else if (auto homes = expand_user_path(tree, root, "%n/Maildir", collect); !homes.empty()) {
    layout = is_e_smith_homes(root) ? "SME Server/NethServer user homes (PATH/<user>/Maildir)"
                                    : "home directories (PATH/<user>/Maildir)";
    accounts = to_accounts(tree, homes, require_domain(options, root, layout), problems);
  } else {
    std::vector<FoundAccount> found = expand_user_path(tree, root, "%d/%n/Maildir", collect);
    for (FoundAccount& f : expand_user_path(tree, root, "%d/%n", collect)) {
      if (is_maildir(tree, f.location)) found.push_back(std::move(f));
    }
    std::sort(found.begin(), found.end(), [](const FoundAccount& a, const FoundAccount& b) {
      return std::tie(a.domain, a.name) < std::tie(b.domain, b.name);
    });
    if (found.empty()) {
      throw SourceError(fmt::format(
          "{}: no Maildir found (not a Maildir, no <user>/Maildir, no <domain>/<user>[/Maildir]); "
          "describe the layout with --user-path, e.g. --user-path '{}/%d/%n/Maildir'",
          root, root));
    }
    layout = "virtual domains (PATH/<domain>/<user>[/Maildir])";
    accounts = to_accounts(tree, found, "", problems);
  }
  auto source = std::make_unique<TreeSource>(
      std::move(accounts), std::move(problems), [files](const TreeAccount& account) {
        return std::make_unique<MaildirAccount>(account.info, files->for_account());
      });
  return OpenedTree{std::move(source), std::move(layout)};
}

}  // namespace mailmig::maildir

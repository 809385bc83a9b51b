#include "source/archive/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "core/ascii.h"
#include "source/archive/esmith_accounts.h"
#include "source/archive/esmith_db.h"
#include "source/archive/layout_cgp.h"
#include "source/archive/layout_maildir.h"
#include "source/maildir/user_paths.h"

namespace mailmig::archive {
namespace {

using maildir::SourceError;

constexpr std::string_view kSmeUsers = "home/e-smith/files/users/";

std::string file_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string last_component(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string parent_path(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

bool looks_like_domain(std::string_view name) {
  return name.find('.') != std::string_view::npos && !name.starts_with('.') && !name.ends_with('.');
}

// The directory holding home/e-smith/ ("" or "<dir>/"): SME backups are made
// from / and some tools put them one level down.
std::optional<std::string> find_sme_prefix(const RawCatalogue& raw) {
  for (const EntryHeader& entry : raw.entries) {
    const std::size_t at = entry.path.find(kSmeUsers);
    if (at != std::string::npos && (at == 0 || entry.path[at - 1] == '/')) return entry.path.substr(0, at);
    const std::size_t db = entry.path.find("home/e-smith/db/configuration");
    if (db != std::string::npos && (db == 0 || entry.path[db - 1] == '/')) return entry.path.substr(0, db);
  }
  return std::nullopt;
}

std::string count_text(std::size_t n, const char* what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

std::string domains_text(const std::vector<DomainInfo>& domains) {
  std::string out;
  for (const DomainInfo& d : domains) out += (out.empty() ? "" : ", ") + d.name;
  return out.empty() ? "no domain" : out;
}

void fill_domains(Catalogue& out) {
  std::stable_sort(out.accounts.begin(), out.accounts.end(),
                   [](const CatalogueAccount& a, const CatalogueAccount& b) {
                     return std::tie(a.info.domain, a.info.name) < std::tie(b.info.domain, b.info.name);
                   });
  for (const CatalogueAccount& account : out.accounts) {
    if (!out.domains.empty() && out.domains.back().name == account.info.domain) continue;
    out.domains.push_back(DomainInfo{.name = account.info.domain,
                                     .main = out.domains.empty(),
                                     .location = entry_location(out.archive, "")});
  }
}

std::string esmith_real_name(const EsmithRecord& user) {
  const auto first = user.props.find("FirstName");
  const auto last = user.props.find("LastName");
  std::string real_name = first != user.props.end() ? first->second : "";
  if (last != user.props.end() && !last->second.empty())
    real_name += (real_name.empty() ? "" : " ") + last->second;
  return real_name;
}

// The users' domain: --domain, else DomainName in the configuration database;
// `origin` says which. Throws when neither names it.
std::string sme_domain(const RawCatalogue& raw, const std::string& prefix, const LayoutOptions& options,
                       std::string& origin) {
  std::string domain = ascii_lower(options.domain);
  origin = "--domain";
  if (domain.empty()) {
    if (auto text = raw.texts.find(prefix + "home/e-smith/db/configuration"); text != raw.texts.end()) {
      if (auto name = esmith_value(parse_esmith_db(text->second), "DomainName")) {
        domain = ascii_lower(*name);
        origin = "home/e-smith/db/configuration";
      }
    }
  }
  if (domain.empty()) {
    throw SourceError(
        fmt::format("{}: an SME Server backup without home/e-smith/db/configuration (DomainName); say "
                    "which domain the users belong to with --domain",
                    raw.archive));
  }
  return domain;
}

// The account whose Maildir is `root`: a user's home or the administrator's; nullopt for any other.
std::optional<std::string> sme_account_of(const std::string& prefix, const std::string& root) {
  const std::string users_dir = prefix + std::string(kSmeUsers);
  constexpr std::string_view kMaildir = "/Maildir";
  if (root.starts_with(users_dir) && root.ends_with(kMaildir)) {
    std::string name = root.substr(users_dir.size(), root.size() - users_dir.size() - kMaildir.size());
    if (name.find('/') != std::string::npos) return std::nullopt;
    return name;
  }
  if (root == prefix + "home/e-smith/Maildir")
    return "admin";  // the administrator's mail lives outside the user homes
  return std::nullopt;
}

std::vector<MaildirRoot> sme_roots(const RawCatalogue& raw, const std::string& prefix, const EsmithDb& users,
                                   const std::string& domain) {
  std::vector<MaildirRoot> roots;
  for (const std::string& root : find_maildir_roots(raw)) {
    const std::optional<std::string> account = sme_account_of(prefix, root);
    if (!account) continue;
    const std::string& name = *account;
    std::string real_name;
    if (auto it = users.find(name); it != users.end() && it->second.type == "user") {
      real_name = esmith_real_name(it->second);
    }
    roots.push_back(MaildirRoot{.domain = domain, .name = name, .root = root, .real_name = real_name});
  }
  return roots;
}

// A user of the accounts database whose home holds no Maildir is still a
// user: listed without folders, so a migration creates it.
void add_users_without_mail(const RawCatalogue& raw, const std::string& prefix, const EsmithDb& users,
                            const std::string& domain, const std::vector<MaildirRoot>& roots,
                            Catalogue& out) {
  std::set<std::string> with_mail;
  for (const MaildirRoot& root : roots) with_mail.insert(root.name);
  for (const auto& [name, record] : users) {
    if (record.type != "user" || with_mail.contains(name)) continue;
    CatalogueAccount account;
    account.info =
        AccountInfo{.domain = domain,
                    .name = name,
                    .real_name = esmith_real_name(record),
                    .location = entry_location(raw.archive, fmt::format("{}{}{}", prefix, kSmeUsers, name)),
                    .kind = "no mail in the backup",
                    .password = {}};
    out.accounts.push_back(std::move(account));
  }
}

// The old password hashes, for a target that can keep them (import-backup); how many were found.
std::size_t add_shadow_hashes(const RawCatalogue& raw, const std::string& prefix, Catalogue& out) {
  std::size_t hashes = 0;
  auto shadow = raw.texts.find(prefix + "etc/shadow");
  if (shadow == raw.texts.end()) return hashes;
  const std::map<std::string, std::string> known = shadow_hashes(shadow->second);
  for (CatalogueAccount& account : out.accounts) {
    auto hash = known.find(account.info.name);
    if (hash == known.end()) continue;
    account.info.password =
        PasswordInfo{.kind = PasswordInfo::Kind::Encrypted, .scheme = "crypt", .value = hash->second};
    ++hashes;
  }
  return hashes;
}

void build_sme(const RawCatalogue& raw, const std::string& prefix, const LayoutOptions& options,
               Catalogue& out) {
  std::string origin;
  const std::string domain = sme_domain(raw, prefix, options, origin);
  EsmithDb users;
  if (auto text = raw.texts.find(prefix + "home/e-smith/db/accounts"); text != raw.texts.end()) {
    users = parse_esmith_db(text->second);
  }
  const std::vector<MaildirRoot> roots = sme_roots(raw, prefix, users, domain);
  out.accounts = build_maildir_accounts(raw, roots);
  add_users_without_mail(raw, prefix, users, domain, roots, out);
  const std::size_t hashes = add_shadow_hashes(raw, prefix, out);
  out.aliases = esmith_aliases(users, domain);
  fill_domains(out);
  out.description =
      fmt::format("SME Server full backup {} ({}): {} in {} (domain from {})", file_name(raw.archive),
                  raw.format, count_text(out.accounts.size(), "user"), domain, origin);
  if (hashes != 0)
    out.description += fmt::format(", {} password hash{} from etc/shadow", hashes, hashes == 1 ? "" : "es");
  if (!out.aliases.aliases.empty()) {
    const std::size_t n = out.aliases.aliases.size();
    out.description += fmt::format(", {} alias{} (groups, pseudonyms)", n, n == 1 ? "" : "es");
  }
}

// The Maildirs found, with their accounts, and how the archive's layout was understood.
struct FoundRoots {
  std::vector<MaildirRoot> roots;
  std::string layout;
};

// --domain, for a layout whose paths name no domain (`what`); throws when it is not given.
std::string required_domain(const RawCatalogue& raw, const LayoutOptions& options, const std::string& what) {
  if (!options.domain.empty()) return ascii_lower(options.domain);
  throw SourceError(
      fmt::format("{}: {} has no domain level; say which domain the accounts belong to with --domain",
                  raw.archive, what));
}

FoundRoots roots_by_user_path(const RawCatalogue& raw, const LayoutOptions& options,
                              const std::vector<std::string>& found) {
  FoundRoots out{.roots = {}, .layout = fmt::format("user path {}", options.user_path)};
  const std::string fallback =
      maildir::pattern_has_domain(options.user_path) ? "" : required_domain(raw, options, "the user path");
  for (const std::string& root : found) {
    if (auto match = match_user_path(options.user_path, root)) {
      out.roots.push_back(MaildirRoot{.domain = match->first.empty() ? fallback : match->first,
                                      .name = match->second,
                                      .root = root,
                                      .real_name = {}});
    }
  }
  return out;
}

FoundRoots single_maildir_root(const RawCatalogue& raw, const LayoutOptions& options) {
  auto [name, domain] = maildir::split_user(options.user);
  if (domain.empty()) domain = required_domain(raw, options, "a single Maildir");
  if (name.empty())
    throw SourceError(fmt::format("{}: holds a single Maildir; name its account with --user", raw.archive));
  return FoundRoots{.roots = {MaildirRoot{.domain = domain, .name = name, .root = "", .real_name = {}}},
                    .layout = "a single Maildir"};
}

// <...>/<user>/Maildir (homes) or <...>/<domain>/<user>[/Maildir] (virtual domains): the
// directory above the user is the domain when it looks like one.
FoundRoots roots_by_tree(const RawCatalogue& raw, const LayoutOptions& options,
                         const std::vector<std::string>& found) {
  const bool homes =
      std::all_of(found.begin(), found.end(), [](const std::string& r) { return r.ends_with("Maildir"); });
  const auto user_dir_of = [homes](const std::string& root) { return homes ? parent_path(root) : root; };
  const bool with_domain =
      !found.empty() && std::all_of(found.begin(), found.end(), [&](const std::string& r) {
        return looks_like_domain(last_component(parent_path(user_dir_of(r))));
      });
  const std::string domain = with_domain ? std::string()
                                         : required_domain(raw, options,
                                                           homes ? "home directories (<user>/Maildir)"
                                                                 : "a tree of <user> Maildirs");
  FoundRoots out{.roots = {},
                 .layout = with_domain ? (homes ? "virtual domains (<domain>/<user>/Maildir)"
                                                : "virtual domains (<domain>/<user>)")
                                       : (homes ? "home directories (<user>/Maildir)" : "<user> Maildirs")};
  for (const std::string& root : found) {
    const std::string user_dir = user_dir_of(root);
    const std::string name = last_component(user_dir);
    if (name.empty()) continue;
    out.roots.push_back(
        MaildirRoot{.domain = with_domain ? ascii_lower(last_component(parent_path(user_dir))) : domain,
                    .name = name,
                    .root = root,
                    .real_name = {}});
  }
  return out;
}

// Two roots for one account (e.g. a copy elsewhere in the archive): the first is read.
std::vector<MaildirRoot> unique_roots(const RawCatalogue& raw, std::vector<MaildirRoot> roots,
                                      Catalogue& out) {
  std::stable_sort(roots.begin(), roots.end(), [](const MaildirRoot& a, const MaildirRoot& b) {
    return std::tie(a.domain, a.name) < std::tie(b.domain, b.name);
  });
  std::vector<MaildirRoot> unique;
  for (MaildirRoot& root : roots) {
    if (!unique.empty() && unique.back().domain == root.domain && unique.back().name == root.name) {
      out.problems.push_back(Problem{
          .scope = Scope::Account,
          .domain = root.domain,
          .account = root.name,
          .file = entry_location(raw.archive, root.root),
          .message =
              fmt::format("a second Maildir for this account (first: {}): skipped", unique.back().root)});
      continue;
    }
    unique.push_back(std::move(root));
  }
  return unique;
}

void build_maildir(const RawCatalogue& raw, const LayoutOptions& options, Catalogue& out) {
  const std::vector<std::string> found = find_maildir_roots(raw);
  FoundRoots roots;
  if (!options.user_path.empty())
    roots = roots_by_user_path(raw, options, found);
  else if (std::find(found.begin(), found.end(), std::string()) != found.end())
    roots = single_maildir_root(raw, options);
  else
    roots = roots_by_tree(raw, options, found);
  const std::vector<MaildirRoot> unique = unique_roots(raw, std::move(roots.roots), out);
  if (unique.empty()) {
    throw SourceError(
        fmt::format("{}: no Maildir matches{}; describe the layout with --user-path, e.g. "
                    "--user-path 'var/vmail/%d/%n/Maildir' (relative to the archive's top)",
                    raw.archive, options.user_path.empty() ? "" : " --user-path " + options.user_path));
  }
  out.accounts = build_maildir_accounts(raw, unique);
  fill_domains(out);
  out.description =
      fmt::format("Maildir archive {} ({}): {}, {} in {}", file_name(raw.archive), raw.format, roots.layout,
                  count_text(out.accounts.size(), "account"), domains_text(out.domains));
}

// tar --append / --update store a newer copy of a file under the same name
// and extracting keeps the last one: so does the catalogue (one message, the
// last bytes, at the last copy's place in the archive). Keyed by the name in
// the folder: hard links of one folder can share a data entry.
void keep_last_copies(Catalogue& out) {
  for (CatalogueAccount& account : out.accounts) {
    for (CatalogueFolder& folder : account.folders) {
      std::map<std::string_view, std::size_t> last;
      for (std::size_t i = 0; i < folder.entries.size(); ++i) last[folder.entries[i].name] = i;
      if (last.size() == folder.entries.size()) continue;
      std::vector<bool> keep(folder.entries.size(), false);
      for (const auto& copy : last) keep[copy.second] = true;
      std::vector<MessageEntry> kept;
      kept.reserve(last.size());
      for (std::size_t i = 0; i < folder.entries.size(); ++i) {
        if (keep[i]) kept.push_back(std::move(folder.entries[i]));
      }
      folder.entries = std::move(kept);
    }
  }
}

}  // namespace

std::optional<Layout> parse_layout(std::string_view text) {
  if (text == "auto") return Layout::Auto;
  if (text == "sme") return Layout::Sme;
  if (text == "maildir") return Layout::Maildir;
  if (text == "cgp") return Layout::Cgp;
  return std::nullopt;
}

Catalogue build_catalogue(RawCatalogue raw, const LayoutOptions& options) {
  Catalogue out;
  out.archive = raw.archive;
  out.opened = raw.opened.empty() ? raw.archive : raw.opened;
  out.problems = std::move(raw.problems);
  Layout layout = options.layout;
  const std::optional<std::string> sme = find_sme_prefix(raw);
  const std::optional<std::string> cgp = find_cgp_base(raw);
  if (layout == Layout::Auto) {
    if (sme)
      layout = Layout::Sme;
    else if (cgp)
      layout = Layout::Cgp;
    else if (!find_maildir_roots(raw).empty())
      layout = Layout::Maildir;
    else {
      throw SourceError(
          fmt::format("{}: {} entries but no mail found (no SME Server homes, no CommuniGate store, no "
                      "Maildir with cur/ or new/); "
                      "say what it holds with --archive-layout sme|maildir|cgp and --user-path",
                      raw.archive, raw.entries.size()));
    }
  }
  out.layout = layout;
  switch (layout) {
    case Layout::Sme:
      build_sme(raw, sme.value_or(""), options, out);
      break;
    case Layout::Maildir:
      build_maildir(raw, options, out);
      break;
    case Layout::Cgp: {
      if (!cgp)
        throw SourceError(
            fmt::format("{}: no CommuniGate store (Accounts/ or Domains/) in the archive", raw.archive));
      std::string origin;
      build_cgp_catalogue(
          raw,
          CgpLayoutOptions{
              .base = *cgp, .main_domain = options.main_domain, .fallback_domain = options.domain},
          out, origin);
      std::size_t accounts = out.accounts.size();
      out.description =
          fmt::format("CommuniGate Pro store in {} ({}{}): {} in {} (main domain from {})",
                      file_name(raw.archive), raw.format, cgp->empty() ? "" : ", under " + *cgp,
                      count_text(accounts, "account"), count_text(out.domains.size(), "domain"), origin);
      break;
    }
    case Layout::Auto:
      break;
  }
  keep_last_copies(out);
  if (!out.problems.empty())
    out.description += fmt::format("; {} damaged", count_text(out.problems.size(), "place"));
  return out;
}

}  // namespace mailmig::archive

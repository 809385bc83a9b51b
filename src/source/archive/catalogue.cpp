#include "source/archive/catalogue.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <memory>

#include "source/archive/directory_entries.h"

namespace mailmig::archive {
namespace {

// Metadata files are small; a bigger one is not what its name says and is
// left unread (the layouts then treat it as missing).
constexpr std::uint64_t kMaxText = std::uint64_t{16} << 20U;
// After this many damaged headers in a row the rest is noise, not entries.
constexpr int kMaxRetries = 1000;

std::string_view base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// A ".." component: the entry names something outside the tree it is in.
// Such entries are reported and kept out of every layout, so no account,
// folder or spool file is ever named after them.
bool climbs_out(std::string_view path) {
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(pos, end - pos) == "..") return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::Auto:
      return "auto";
    case Layout::Sme:
      return "sme";
    case Layout::Maildir:
      return "maildir";
    case Layout::Cgp:
      return "cgp";
  }
  return "auto";
}

std::string entry_location(const std::string& archive, const std::string& path) {
  return fmt::format("{}!/{}", archive, path);
}

bool is_metadata_path(std::string_view path) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "dovecot-uidlist", "dovecot-keywords", "subscriptions",  "account.settings",
      "account.info",    "Main.settings",    "Domain.settings"};
  const std::string_view name = base_name(path);
  for (const std::string_view known : kNames) {
    if (name == known) return true;
  }
  // CommuniGate legacy single-mailbox accounts: <name>.settings / <name>.info next to <name>.mbox.
  if (name.ends_with(".settings") || name.ends_with(".info"))
    return path.find(".macnt/") == std::string_view::npos;
  // The SME Server's password hashes, for import-backup (a full backup is made from /).
  if (path == "etc/shadow" || path.ends_with("/etc/shadow")) return true;
  return path.ends_with("e-smith/db/configuration") || path.ends_with("e-smith/db/accounts");
}

RawCatalogue read_catalogue(const std::string& path, const std::string& shown) {
  RawCatalogue out;
  const std::string archive = shown.empty() ? path : shown;
  out.archive = archive;
  out.opened = path;
  ArchiveReader reader(path, archive);
  constexpr std::size_t kBuffer = std::size_t{64} << 10U;
  const auto buffer = std::make_unique_for_overwrite<char[]>(kBuffer);
  int retries = 0;
  EntryHeader header;
  for (;;) {
    try {
      if (!reader.next(header)) break;
      retries = 0;
      if (out.format.empty()) out.format = reader.describe_format();
      if (climbs_out(header.path) || (header.type == EntryType::Hardlink && climbs_out(header.link_target))) {
        out.problems.push_back(Problem{
            .scope = Scope::Message,
            .file = entry_location(archive, header.path),
            .offset = reader.offset(),
            .message =
                header.type == EntryType::Hardlink && !climbs_out(header.path)
                    ? fmt::format("hard link to \"{}\", a path with \"..\": skipped", header.link_target)
                    : "entry path with a \"..\" component: skipped"});
        header.type = EntryType::Other;  // stays in `entries` (ordinals are positions) for no layout
        out.entries.push_back(header);
        continue;
      }
      if (header.type == EntryType::Symlink && out.format == "directory" &&
          link_leaves_tree(header.path, header.link_target)) {
        spdlog::warn("{}: symbolic link to {} leads outside the backup directory: not followed",
                     entry_location(archive, header.path), header.link_target);
      }
      // Listed before its data is read: a directory's file that cannot be read
      // is still an entry (ordinals stay positions), only its text is missing.
      out.entries.push_back(header);
      if (header.type == EntryType::File && header.size <= kMaxText && is_metadata_path(header.path)) {
        std::string text;
        while (const std::size_t n = reader.read(std::span<char>(buffer.get(), kBuffer)))
          text.append(buffer.get(), n);
        out.texts[header.path] = std::move(text);
      }
    } catch (const ArchiveError& e) {
      out.problems.push_back(
          Problem{.scope = Scope::Store, .file = archive, .offset = e.offset(), .message = e.detail()});
      if (e.fatal() || ++retries > kMaxRetries) break;
    }
  }
  if (out.format.empty()) out.format = reader.describe_format();
  return out;
}

}  // namespace mailmig::archive

namespace mailmig::archive {

void order_folders(std::vector<CatalogueFolder>& folders, const std::string& location) {
  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < folders.size(); ++i) by_name.emplace(folders[i].info.name, i);
  // Maildir++ and CommuniGate keep "A/B" without requiring "A": the parent exists only as a name.
  const std::size_t given = folders.size();
  for (std::size_t i = 0; i < given; ++i) {
    const std::string name = folders[i].info.name;
    for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
      const std::string parent = name.substr(0, slash);
      if (by_name.contains(parent)) continue;
      CatalogueFolder synthetic;
      synthetic.info = FolderInfo{.name = parent, .selectable = false, .location = location, .format = "dir"};
      synthetic.first_ordinal = folders[i].first_ordinal;
      by_name.emplace(parent, folders.size());
      folders.push_back(std::move(synthetic));
    }
  }
  std::stable_sort(folders.begin(), folders.end(), [](const CatalogueFolder& a, const CatalogueFolder& b) {
    const bool inbox_a = a.info.name == "INBOX";
    const bool inbox_b = b.info.name == "INBOX";
    if (inbox_a != inbox_b) return inbox_a;
    return a.first_ordinal != b.first_ordinal ? a.first_ordinal < b.first_ordinal : a.info.name < b.info.name;
  });
  // Pull each parent up in front of its first child, keeping archive order otherwise.
  std::vector<CatalogueFolder> out;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < folders.size(); ++i) index.emplace(folders[i].info.name, i);
  std::vector<bool> taken(folders.size(), false);
  const auto place = [&](std::size_t i, const auto& self) -> void {
    if (taken[i]) return;
    const std::string& name = folders[i].info.name;
    if (const std::size_t slash = name.rfind('/'); slash != std::string::npos) {
      if (auto parent = index.find(name.substr(0, slash)); parent != index.end()) self(parent->second, self);
    }
    taken[i] = true;
    out.push_back(std::move(folders[i]));
  };
  for (std::size_t i = 0; i < folders.size(); ++i) place(i, place);
  folders = std::move(out);
}

}  // namespace mailmig::archive

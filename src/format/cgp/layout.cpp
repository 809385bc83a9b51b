#include "format/cgp/layout.h"

#include "core/ascii.h"
#include "format/mutf7.h"

namespace mailmig::cgp {
namespace {

// "x.mbox" has the suffix; ".mbox" alone names nothing.
bool has_suffix(std::string_view name, std::string_view suffix) {
  return name.size() > suffix.size() && name.ends_with(suffix);
}

std::string stem(std::string_view name, std::string_view suffix) {
  return std::string(name.substr(0, name.size() - suffix.size()));
}

}  // namespace

std::string domain_name(std::string_view directory) {
  return ascii_lower(std::string(directory));
}

DomainEntry domain_entry(std::string_view name) {
  DomainEntry out;
  if (has_suffix(name, ".macnt")) {
    out.kind = DomainEntry::Kind::Account;
    out.stem = stem(name, ".macnt");
  } else if (has_suffix(name, ".sub")) {
    out.kind = DomainEntry::Kind::SubDirectory;
    out.stem = stem(name, ".sub");
    return out;
  } else if (has_suffix(name, ".mbox") || has_suffix(name, ".mdir")) {
    out.kind = DomainEntry::Kind::SingleMailbox;
    out.mdir = name.ends_with(".mdir");
    out.stem = stem(name, ".mbox");  // both suffixes are five characters
  } else {
    return out;
  }
  out.account = ascii_lower(out.stem);
  return out;
}

std::string single_mailbox_settings(const DomainEntry& entry) {
  return entry.stem + ".settings";
}

std::string single_mailbox_info(const DomainEntry& entry) {
  return entry.stem + ".info";
}

AccountEntry account_entry(std::string_view name) {
  AccountEntry out;
  if (has_suffix(name, ".mbox")) {
    out.kind = AccountEntry::Kind::Mbox;
    out.encoded = stem(name, ".mbox");
  } else if (has_suffix(name, ".mdir")) {
    out.kind = AccountEntry::Kind::Mdir;
    out.encoded = stem(name, ".mdir");
  } else if (has_suffix(name, ".folder")) {
    out.kind = AccountEntry::Kind::FolderDirectory;
    out.encoded = stem(name, ".folder");
  }
  return out;
}

FolderLevel folder_level(std::string_view encoded, std::string_view parent) {
  FolderLevel out;
  if (auto decoded = mutf7_decode(encoded)) {
    out.name = std::move(*decoded);
  } else {
    out.name = std::string(encoded);
    out.raw = true;
  }
  if (parent.empty() && ascii_lower(out.name) == "inbox") out.name = "INBOX";
  if (!parent.empty()) out.name = std::string(parent) + "/" + out.name;
  return out;
}

}  // namespace mailmig::cgp

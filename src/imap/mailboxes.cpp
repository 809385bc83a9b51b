#include "imap/mailboxes.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/ascii.h"
#include "format/mutf7.h"

namespace mailmig::imap {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto pos = text.find(sep, start);
    out.push_back(text.substr(start, pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

bool is_inbox(std::string_view name) {
  return ascii_iequals(name, "INBOX");
}

}  // namespace

Mailboxes::Mailboxes(Session& session) : session_(session) {
  bool learned = false;
  if (session_.has_capability("NAMESPACE")) {
    CommandResult result = session_.run_ok(Command("NAMESPACE"));
    for (const Response& r : result.untagged) {
      if (r.keyword != "NAMESPACE" || r.data.empty() || !r.data[0].is_list() || r.data[0].list.empty())
        continue;
      const Item& personal = r.data[0].list[0];  // (("prefix" "delim") ...)
      if (!personal.is_list() || personal.list.size() < 2) continue;
      if (auto p = personal.list[0].as_astring()) prefix_ = std::string(*p);
      if (auto d = personal.list[1].as_astring(); d && !d->empty()) delimiter_ = (*d)[0];
      learned = true;
    }
  }
  if (!learned) {
    Command list("LIST");
    list.string("").string("");
    CommandResult result = session_.run_ok(list);
    for (const Response& r : result.untagged) {
      if (r.keyword == "LIST" && r.data.size() >= 2) {
        if (auto d = r.data[1].as_astring(); d && !d->empty()) delimiter_ = (*d)[0];
      }
    }
  }
  load_existing();
}

void Mailboxes::load_existing() {
  existing_.clear();
  noselect_.clear();
  Command list("LIST");
  list.string("").string("*");
  CommandResult result = session_.run_ok(list);
  for (const Response& r : result.untagged) {
    if (r.keyword != "LIST" || r.data.size() < 3) continue;
    auto name = r.data[2].as_astring();
    if (!name) continue;
    std::string wire(*name);
    if (is_inbox(wire)) wire = "INBOX";
    bool noselect = false;
    if (r.data[0].is_list()) {
      for (const Item& flag : r.data[0].list)
        noselect = noselect || flag.is_atom("\\Noselect") || flag.is_atom("\\NonExistent");
    }
    existing_.insert(wire);
    if (noselect) noselect_.insert(wire);
  }
}

std::string Mailboxes::encode(const std::string& utf8) const {
  if (session_.utf8_enabled()) return utf8;
  auto encoded = mutf7_encode(utf8);
  if (!encoded) throw std::invalid_argument(fmt::format("folder name \"{}\" is not valid UTF-8", utf8));
  return *encoded;
}

NameMapping Mailboxes::map(const std::string& neutral, char substitute) const {
  NameMapping out;
  std::vector<std::string> parts = split(neutral, '/');
  const bool inbox_root = is_inbox(parts.front());
  if (inbox_root) parts.front() = "INBOX";
  for (std::string& part : parts) {
    if (delimiter_ != '/' && part.find(delimiter_) != std::string::npos) {
      std::replace(part.begin(), part.end(), delimiter_, substitute);
      out.altered = true;
    }
  }
  std::string display;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i != 0) display += delimiter_;
    display += parts[i];
  }
  // INBOX is never under the namespace prefix; a prefix of "INBOX." already puts
  // everything below it.
  if (!inbox_root && !prefix_.empty() && !display.starts_with(prefix_)) display = prefix_ + display;
  out.display = display;
  out.wire = encode(display);
  return out;
}

NameMapping Mailboxes::ensure(const std::string& neutral, bool subscribe) {
  NameMapping mapping = map(neutral);
  // Create parents first: not every server creates them implicitly (RFC 3501 says SHOULD).
  std::vector<std::string> parts = split(neutral, '/');
  std::string path;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    path += (i == 0 ? "" : "/") + parts[i];
    const NameMapping step = map(path);
    if (step.wire == "INBOX" || (existing_.contains(step.wire) && !noselect_.contains(step.wire))) continue;
    if (existing_.contains(step.wire) && i + 1 < parts.size()) continue;  // a \Noselect parent is fine
    Command create("CREATE");
    create.string(step.wire, session_.utf8_enabled());
    CommandResult result = session_.run(create);
    if (!result.ok() && !(result.code && result.code->name == "ALREADYEXISTS")) {
      throw CommandFailed(fmt::format("CREATE \"{}\"", step.display), std::move(result));
    }
    existing_.insert(step.wire);
    noselect_.erase(step.wire);
  }
  if (subscribe) {
    Command sub("SUBSCRIBE");
    sub.string(mapping.wire, session_.utf8_enabled());
    // A refused subscription does not stop the copy, but it is said: the user
    // would not see the folder in a client that lists subscribed folders only.
    if (const CommandResult r = session_.run(sub); !r.ok())
      spdlog::warn("target folder {}: SUBSCRIBE refused ({}); the folder is there but not subscribed",
                   mapping.display, r.describe());
  }
  return mapping;
}

std::string Mailboxes::neutral_of(const std::string& wire) const {
  std::string utf8 = wire;
  if (!session_.utf8_enabled()) utf8 = mutf7_decode(wire).value_or(wire);
  if (!prefix_.empty() && utf8.starts_with(prefix_) && !is_inbox(utf8)) utf8 = utf8.substr(prefix_.size());
  if (delimiter_ != '/') std::replace(utf8.begin(), utf8.end(), delimiter_, '/');
  return utf8;
}

std::vector<std::string> Mailboxes::list_neutral() const {
  std::vector<std::string> out;
  for (const std::string& wire : existing_) {
    if (!noselect_.contains(wire)) out.push_back(neutral_of(wire));
  }
  return out;
}

std::vector<Mailboxes::Listed> Mailboxes::list_all() {
  load_existing();
  std::set<std::string> subscribed;
  Command lsub("LSUB");
  lsub.string("").string("*");
  for (const Response& r : session_.run_ok(lsub).untagged) {
    if (r.keyword != "LSUB" || r.data.size() < 3) continue;
    if (auto name = r.data[2].as_astring())
      subscribed.insert(is_inbox(*name) ? std::string("INBOX") : std::string(*name));
  }
  std::vector<Listed> out;
  for (const std::string& wire : existing_) {
    out.push_back(Listed{.neutral = neutral_of(wire),
                         .wire = wire,
                         .selectable = !noselect_.contains(wire),
                         .subscribed = subscribed.contains(wire)});
  }
  return out;
}

}  // namespace mailmig::imap

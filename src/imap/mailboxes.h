// Folder names on an IMAP server: our neutral name ("Work/Projects", UTF-8,
// '/' separated) to the server's wire name (namespace prefix, hierarchy
// delimiter, modified UTF-7 unless UTF8=ACCEPT), and creating what is missing.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "imap/session.h"

namespace mailmig::imap {

struct NameMapping {
  std::string wire;      // as sent in commands (mUTF-7 or UTF-8)
  std::string display;   // UTF-8 with the server's delimiter, for messages
  bool altered = false;  // a component held the server's delimiter and was changed
};

class Mailboxes {
 public:
  // Learns the personal namespace and delimiter (NAMESPACE, else LIST "" "")
  // and lists what exists.
  explicit Mailboxes(Session& session);

  [[nodiscard]] char delimiter() const { return delimiter_; }
  [[nodiscard]] const std::string& prefix() const { return prefix_; }

  // Maps a neutral name. A component containing the server's delimiter gets it
  // replaced by `substitute` (reported through `altered`), never split silently.
  [[nodiscard]] NameMapping map(const std::string& neutral, char substitute = '_') const;

  // Creates the folder and its missing parents (and subscribes it when asked);
  // returns the mapping. Throws CommandFailed when the server refuses.
  NameMapping ensure(const std::string& neutral, bool subscribe);
  [[nodiscard]] bool exists(const std::string& wire) const { return existing_.contains(wire); }

  // Every selectable mailbox on the server as neutral names ('/' separated, UTF-8).
  [[nodiscard]] std::vector<std::string> list_neutral() const;

  // Every mailbox with what a source needs to know of it (LIST and LSUB).
  struct Listed {
    std::string neutral;
    std::string wire;
    bool selectable = true;
    bool subscribed = false;
  };
  std::vector<Listed> list_all();
  // A wire name as a neutral name: decoded, prefix dropped, delimiter -> '/'.
  [[nodiscard]] std::string neutral_of(const std::string& wire) const;

 private:
  void load_existing();
  std::string encode(const std::string& utf8) const;

  Session& session_;
  char delimiter_ = '/';
  std::string prefix_;
  std::set<std::string> existing_;  // wire names
  std::set<std::string> noselect_;  // wire names listed \Noselect
};

}  // namespace mailmig::imap

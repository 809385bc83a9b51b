// A stopped CommuniGate Pro store read offline (cgp:/var/CommuniGate). Knows
// the directory layout; the file formats live in settings.h (text objects)
// and mailbox_files.h (.mbox / .mdir).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source/source.h"

namespace mailmig::cgp {

struct StoreOptions {
  std::string main_domain;  // overrides Settings/Main.settings and the host name
  bool allow_live = false;  // read a store whose server is running (snapshots only)
};

// Thrown when the store cannot be read at all (not a store, server running).
class StoreError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Store final : public Source {
 public:
  // Throws StoreError.
  Store(const std::string& root, const StoreOptions& options);

  [[nodiscard]] const std::string& root() const { return root_; }
  [[nodiscard]] const std::string& main_domain() const { return main_domain_; }
  // Where the main-domain name came from: "option", "Settings/Main.settings" or "host name".
  [[nodiscard]] const std::string& main_domain_origin() const { return main_domain_origin_; }
  // A running server was found (and allowed): its mailboxes are read as a live store.
  [[nodiscard]] bool live() const { return live_; }

  std::vector<DomainInfo> domains(const ProblemFn& problem) override;
  std::vector<AccountInfo> accounts(const DomainInfo& domain, const ProblemFn& problem) override;
  [[nodiscard]] std::unique_ptr<Account> open_account(const AccountInfo& account) const override;

 private:
  void walk_accounts(const std::string& dir, const DomainInfo& domain, int depth,
                     std::vector<AccountInfo>& out, const ProblemFn& problem) const;

  std::string root_;  // canonical (realpath) store root
  std::string main_domain_;
  std::string main_domain_origin_;
  bool live_ = false;
};

// Describes the running CommuniGate server that uses `root`, or nullopt when
// none is found: a ProcessID file naming a live CGServer process, or a
// CGServer process whose working directory is the store.
std::optional<std::string> detect_live_server(const std::string& root);

}  // namespace mailmig::cgp

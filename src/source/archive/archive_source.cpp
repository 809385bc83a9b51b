#include "source/archive/archive_source.h"

#include <fmt/format.h>

#include <cerrno>

#include "core/error.h"
#include "source/archive/archive_context.h"
#include "source/archive/cgp_spool.h"
#include "source/archive/maildir_entries.h"
#include "source/no_select_folder.h"

namespace mailmig::archive {
namespace {

constexpr const char* kStdinName = "stdin";  // archive:- in reports: "stdin!/<entry>"

class ArchiveAccount final : public Account {
 public:
  ArchiveAccount(std::shared_ptr<ArchiveContext> context, const CatalogueAccount& account)
      : context_(std::move(context)),
        account_(account),
        store_(
            std::make_shared<PassedStore>(account_.folders, context_->store_budget,
                                          fmt::format("{}@{}", account_.info.name, account_.info.domain))) {}

  [[nodiscard]] const AccountInfo& info() const override { return account_.info; }

  std::vector<FolderInfo> folders(const ProblemFn& problem) override {
    for (const Problem& p : account_.problems) problem(p);
    std::vector<FolderInfo> out;
    out.reserve(account_.folders.size());
    for (const CatalogueFolder& folder : account_.folders) out.push_back(folder.info);
    return out;
  }

  [[nodiscard]] std::unique_ptr<Folder> open_folder(const FolderInfo& folder) const override {
    for (const CatalogueFolder& candidate : account_.folders) {
      if (candidate.info.name != folder.name) continue;
      if (!candidate.info.selectable) return std::make_unique<NoSelectFolder>();
      if (candidate.info.format == "mbox" || candidate.info.format == "mdir") {
        return std::make_unique<CgpSpoolFolder>(context_, candidate, store_);
      }
      return std::make_unique<MaildirEntriesFolder>(context_, candidate, store_);
    }
    throw IoError(folder.location, ENOENT, "no such folder in this account");
  }

 private:
  std::shared_ptr<ArchiveContext> context_;
  const CatalogueAccount& account_;     // owned by context_
  std::shared_ptr<PassedStore> store_;  // shared with the folders opened, which may outlive this object
};

class ArchiveSource final : public Source {
 public:
  explicit ArchiveSource(std::shared_ptr<ArchiveContext> context) : context_(std::move(context)) {}

  std::vector<DomainInfo> domains(const ProblemFn& problem) override {
    for (const Problem& p : context_->catalogue.problems) problem(p);
    return context_->catalogue.domains;
  }

  std::vector<AccountInfo> accounts(const DomainInfo& domain, const ProblemFn& /*problem*/) override {
    std::vector<AccountInfo> out;
    for (const CatalogueAccount& account : context_->catalogue.accounts) {
      if (account.info.domain == domain.name) out.push_back(account.info);
    }
    return out;
  }

  [[nodiscard]] std::unique_ptr<Account> open_account(const AccountInfo& account) const override {
    for (const CatalogueAccount& candidate : context_->catalogue.accounts) {
      if (candidate.info.domain == account.domain && candidate.info.name == account.name) {
        return std::make_unique<ArchiveAccount>(context_, candidate);
      }
    }
    throw IoError(account.location, ENOENT, "no such account in this archive");
  }

 private:
  std::shared_ptr<ArchiveContext> context_;
};

}  // namespace

OpenedArchive open_archive(const std::string& path, const ArchiveOptions& options) {
  std::unique_ptr<StreamSpool> spool;
  RawCatalogue raw;
  if (path == "-") {
    // One pass over the stream into a private directory, then read like archive:DIR.
    spool = spool_stream(path, kStdinName);
    raw = read_catalogue(spool->directory, kStdinName);
    raw.format = spool->format;
    raw.problems.insert(raw.problems.begin(), spool->problems.begin(), spool->problems.end());
  } else {
    raw = read_catalogue(path);
  }
  Catalogue catalogue = build_catalogue(std::move(raw), options.layout);
  std::string description = catalogue.description;
  EsmithAliases aliases = catalogue.aliases;
  if (spool) {
    description += fmt::format("; read in one pass, {} bytes of mail spooled to {} (removed at exit)",
                               spool->bytes, spool->directory);
  }
  auto context = std::make_shared<ArchiveContext>(std::move(catalogue), options.parked_readers, options.cache,
                                                  options.store);
  context->spool = std::move(spool);
  auto opens = [context] { return context->pool.opened(); };
  return OpenedArchive{std::make_unique<ArchiveSource>(std::move(context)), std::move(description),
                       std::move(opens), std::move(aliases)};
}

}  // namespace mailmig::archive

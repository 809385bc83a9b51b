#include "engine/inventory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <thread>
#include <tuple>

#include "core/crlf.h"
#include "core/error.h"
#include "core/sha256.h"
#include "core/worker_pool.h"

namespace mailmig {

namespace {

std::string hash_message(const Folder& folder, const MessageInfo& message) {
  CrlfReader reader(folder.open(message));
  return sha256_of(reader);
}

AccountSummary scan_account(Source& source, const AccountInfo& account, const InventoryOptions& options,
                            ProblemSink& sink) {
  AccountSummary out{.name = account.name,
                     .real_name = account.real_name,
                     .location = account.location,
                     .kind = account.kind,
                     .password = account.password.kind,
                     .password_scheme = account.password.scheme};
  auto report = [&](const std::string& folder) {
    return [&sink, &account, folder](Problem p) {
      p.domain = account.domain;
      p.account = account.name;
      if (p.folder.empty()) p.folder = folder;
      sink.add(std::move(p));
    };
  };
  std::unique_ptr<Account> opened;
  try {
    opened = source.open_account(account);
  } catch (const std::exception& e) {
    report("")(Problem{.scope = Scope::Account, .file = account.location, .message = e.what()});
    return out;
  }
  for (FolderInfo& folder : opened->folders(report(""))) {
    FolderSummary summary{.info = folder};
    const ProblemFn folder_problem = report(folder.name);
    try {
      std::unique_ptr<Folder> box = opened->open_folder(folder);
      box->scan(
          [&](const MessageInfo& message) {
            ++summary.messages;
            summary.bytes += message.size;
            if (!options.messages) return;
            MessageDetail detail{.info = message};
            try {
              detail.sha256 = hash_message(*box, message);
            } catch (const IoError& e) {
              folder_problem(Problem{.scope = Scope::Message,
                                     .file = message.file,
                                     .offset = message.offset,
                                     .message = e.what()});
            }
            summary.details.push_back(std::move(detail));
          },
          folder_problem);
    } catch (const std::exception& e) {
      folder_problem(Problem{.scope = Scope::Folder, .file = folder.location, .message = e.what()});
    }
    out.messages += summary.messages;
    out.bytes += summary.bytes;
    out.folders.push_back(std::move(summary));
  }
  return out;
}

}  // namespace

Inventory take_inventory(Source& source, const InventoryOptions& options) {
  ProblemSink sink;
  auto store_problem = [&sink](Problem p) { sink.add(std::move(p)); };

  Inventory inventory;
  // Accounts of all selected domains, scanned in parallel; results keep store order.
  struct Job {
    std::size_t domain;
    AccountInfo account;
  };
  std::vector<Job> jobs;
  for (SelectedDomain& selected : select_accounts(source, options.selection, store_problem)) {
    const std::size_t d = inventory.domains.size();
    inventory.domains.push_back(DomainSummary{.info = std::move(selected.domain)});
    for (AccountInfo& account : selected.accounts) jobs.push_back(Job{d, std::move(account)});
  }

  std::vector<AccountSummary> results(jobs.size());
  // Default: twice the cores, at least 4. A cold-cache scan waits on the disk,
  // and more reads in flight help (1 M messages: 12.6 s with 2 jobs, 7.2 s with 8).
  const unsigned threads =
      options.jobs != 0 ? options.jobs : std::max(4U, 2 * std::thread::hardware_concurrency());
  run_jobs(jobs.size(), threads,
           [&](std::size_t i) { results[i] = scan_account(source, jobs[i].account, options, sink); });

  for (std::size_t i = 0; i < jobs.size(); ++i) {
    DomainSummary& domain = inventory.domains[jobs[i].domain];
    domain.messages += results[i].messages;
    domain.bytes += results[i].bytes;
    domain.accounts.push_back(std::move(results[i]));
  }
  for (const DomainSummary& domain : inventory.domains) {
    inventory.accounts += domain.accounts.size();
    inventory.messages += domain.messages;
    inventory.bytes += domain.bytes;
  }
  // Workers report in any order; sort so output and exit status are repeatable.
  inventory.problems = sink.snapshot();
  std::stable_sort(inventory.problems.begin(), inventory.problems.end(),
                   [](const Problem& a, const Problem& b) {
                     return std::tie(a.domain, a.account, a.folder, a.file, a.offset) <
                            std::tie(b.domain, b.account, b.folder, b.file, b.offset);
                   });
  return inventory;
}

}  // namespace mailmig

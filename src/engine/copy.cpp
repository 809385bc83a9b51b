#include "engine/copy.h"

#include <fmt/format.h>

#include "core/crlf.h"

namespace mailmig {

namespace {

struct Where {
  std::string file;
  std::uint64_t offset;
  std::uint64_t size;
};

void copy_folder(const Account& source_account, const FolderInfo& folder, TargetAccount& target,
                 AccountCopy& report, const CopyOptions& options, ProblemSink& sink) {
  const AccountInfo& who = source_account.info();
  FolderCopy result{.name = folder.name};
  auto problem = [&](Problem p) {
    p.domain = who.domain;
    p.account = who.name;
    if (p.folder.empty()) p.folder = folder.name;
    if (result.note.empty()) result.note = p.message;
    sink.add(std::move(p));
  };

  std::vector<Where> where;  // by order of add(), to name refused messages
  auto on_result = [&](std::size_t index, const Delivery& d) {
    if (d.ok) {
      ++result.copied;
      result.bytes += where[index].size;
      return;
    }
    ++result.failed;
    problem(Problem{.scope = Scope::Message,
                    .file = where[index].file,
                    .offset = where[index].offset,
                    .message = fmt::format("target refused the message: {}", d.error)});
  };

  std::unique_ptr<TargetFolder> out;
  try {
    out = target.open_folder(folder.name, folder.subscribed, on_result);
  } catch (const std::exception& e) {
    problem(Problem{.scope = Scope::Folder,
                    .message = fmt::format("cannot create the folder on the target: {}", e.what())});
    result.skipped = true;
    report.folders.push_back(std::move(result));
    return;
  }
  result.target_name = out->display_name();
  result.rename_note = out->rename_note();
  if (out->existing_messages() != 0 && !options.allow_nonempty && folder.selectable) {
    result.skipped = true;
    problem(Problem{.scope = Scope::Folder,
                    .message = fmt::format("target folder {} already holds {} messages; not copied, to avoid "
                                           "duplicates (use mailmig migrate, or --allow-nonempty)",
                                           result.target_name, out->existing_messages())});
  }
  if (!result.skipped && folder.selectable) {
    std::unique_ptr<Folder> in = source_account.open_folder(folder);
    try {
      in->scan(
          [&](const MessageInfo& message) {
            ++result.source_messages;
            where.push_back(Where{message.file, message.offset, message.size});
            const Folder* box = in.get();
            out->add(message, [box, message] { return std::make_unique<CrlfReader>(box->open(message)); });
          },
          [&](Problem p) { problem(std::move(p)); });
      out->finish();
    } catch (const std::exception& e) {
      // The connection is gone: what was in flight may or may not be stored.
      for (std::size_t index : out->unresolved()) {
        problem(Problem{
            .scope = Scope::Message,
            .file = where[index].file,
            .offset = where[index].offset,
            .message = "outcome unknown: the connection failed while the message was being appended"});
      }
      problem(Problem{.scope = Scope::Account, .message = fmt::format("copy stopped: {}", e.what())});
      result.failed += out->unresolved().size();
      report.copied += result.copied;
      report.failed += result.failed;
      report.bytes += result.bytes;
      report.folders.push_back(std::move(result));
      throw;
    }
  }
  report.copied += result.copied;
  report.bytes += result.bytes;
  report.failed += result.failed;
  report.folders.push_back(std::move(result));
  if (options.on_folder_done) options.on_folder_done(report, report.folders.back());
}

}  // namespace

AccountCopy copy_account(Source& source, const AccountInfo& account, Target& target,
                         const std::string& user_password, const CopyOptions& options, ProblemSink& sink) {
  AccountCopy report{.domain = account.domain, .account = account.name};
  std::unique_ptr<TargetAccount> out;
  try {
    out = target.open_account(account.name, account.domain, user_password);
  } catch (const TargetAuthError& e) {
    report.login_failed = true;
    sink.add(Problem{.scope = Scope::Account,
                     .domain = account.domain,
                     .account = account.name,
                     .message = fmt::format("login on the target failed: {}", e.what())});
    return report;
  } catch (const std::exception& e) {
    report.login_failed = true;
    sink.add(Problem{.scope = Scope::Account,
                     .domain = account.domain,
                     .account = account.name,
                     .message = fmt::format("cannot connect to the target: {}", e.what())});
    return report;
  }
  std::unique_ptr<Account> in = source.open_account(account);
  auto folder_problem = [&](Problem p) {
    p.domain = account.domain;
    p.account = account.name;
    sink.add(std::move(p));
  };
  try {
    for (const FolderInfo& folder : in->folders(folder_problem))
      copy_folder(*in, folder, *out, report, options, sink);
  } catch (const std::exception&) {
    // Reported inside copy_folder; the account stops, the run goes on.
  }
  out->close();
  return report;
}

}  // namespace mailmig

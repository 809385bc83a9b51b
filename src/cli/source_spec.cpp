#include "cli/source_spec.h"

#include <fmt/format.h>

#include "source/cgp/store.h"
#include "source/maildir/maildir_source.h"
#include "source/maildir/user_paths.h"
#include "source/mbox/mbox_source.h"

namespace mailmig::cli {

OpenedSource open_source(const std::string& spec, const SourceOptions& options) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw SpecError(fmt::format("source \"{}\" must be written scheme:location, e.g. cgp:/var/CommuniGate", spec));
  }
  const std::string scheme = spec.substr(0, colon);
  const std::string location = spec.substr(colon + 1);
  if (scheme == "cgp") {
    auto store = std::make_unique<cgp::Store>(location, cgp::StoreOptions{options.main_domain, options.allow_live});
    std::string description = fmt::format("CommuniGate Pro store {} (main domain {}, from {})", store->root(),
                                          store->main_domain(), store->main_domain_origin());
    return OpenedSource{std::move(store), std::move(description)};
  }
  const maildir::TreeOptions tree{.user_path = options.user_path, .domain = options.domain, .user = options.user};
  try {
    if (scheme == "maildir") {
      maildir::OpenedTree opened = maildir::open_maildir_tree(location, tree);
      return OpenedSource{std::move(opened.source), fmt::format("Maildir++ tree {} ({})", location, opened.layout)};
    }
    if (scheme == "mbox") {
      const auto format = mbox::parse_mbox_format(options.mbox_format);
      if (!format) {
        throw SpecError(fmt::format("--mbox-format \"{}\": expected auto, mboxo, mboxrd, mboxcl or mboxcl2",
                                    options.mbox_format));
      }
      maildir::OpenedTree opened =
          mbox::open_mbox_tree(location, mbox::MboxTreeOptions{.tree = tree, .inbox_path = options.inbox_path,
                                                               .format = *format});
      std::string description = fmt::format("mbox tree {} ({}; format {}{})", location, opened.layout,
                                            mbox::mbox_format_name(*format),
                                            options.inbox_path.empty() ? "" : "; INBOX " + options.inbox_path);
      return OpenedSource{std::move(opened.source), std::move(description)};
    }
  } catch (const maildir::SourceError& e) {
    throw SpecError(e.what());
  }
  throw SpecError(fmt::format("source scheme \"{}\" is not supported (supported: cgp, maildir, mbox)", scheme));
}

}  // namespace mailmig::cli

#include "source/no_select_folder.h"

#include <cerrno>

#include "core/error.h"

namespace mailmig {

void NoSelectFolder::scan(const std::function<void(const MessageInfo&)>& /*on_message*/,
                          const ProblemFn& /*problem*/) {}

std::unique_ptr<ByteReader> NoSelectFolder::open(const MessageInfo& message) const {
  throw IoError(message.file, ENOENT, "a directory-only folder has no messages");
}

}  // namespace mailmig

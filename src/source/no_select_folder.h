// A folder that cannot hold mail (\Noselect): a directory-only parent in any
// store. It is listed so the folder tree keeps its shape, and has no messages.
#pragma once

#include <functional>
#include <memory>

#include "source/source.h"

namespace mailmig {

class NoSelectFolder final : public Folder {
 public:
  void scan(const std::function<void(const MessageInfo&)>& on_message, const ProblemFn& problem) override;
  // Throws IoError: scan() named no message to open.
  [[nodiscard]] std::unique_ptr<ByteReader> open(const MessageInfo& message) const override;
};

}  // namespace mailmig

// A spdlog sink that escapes control characters in each message (names and
// server texts are logged as they are) before handing it to the real sink:
// the terminal and the --log file get printable() text.
#pragma once

#include <spdlog/sinks/sink.h>

#include <memory>
#include <string>
#include <utility>

#include "core/printable.h"

namespace mailmig::cli {

class PrintableSink final : public spdlog::sinks::sink {
 public:
  explicit PrintableSink(spdlog::sink_ptr inner) : inner_(std::move(inner)) {}

  void log(const spdlog::details::log_msg& msg) override {
    // The logger asks this sink's level; the inner sink's own level decides.
    if (!inner_->should_log(msg.level)) return;
    const std::string text = printable(std::string_view(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy(msg);
    copy.payload = spdlog::string_view_t(text.data(), text.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  spdlog::sink_ptr inner_;
};

}  // namespace mailmig::cli

#include "cli/commands.h"

#include <fmt/format.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fstream>

#include "cli/exit_codes.h"
#include "cli/printable_sink.h"
#include "engine/inventory_report.h"
#include "source/cgp/store.h"

namespace mailmig::cli {

namespace {

constexpr const char* kFileLogger = "mailmig-file";

// %* : the level in capitals, the words the SME Server procedure greps for.
class LevelWord final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    std::string_view word = "INFO";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        word = "DEBUG";
        break;
      case spdlog::level::warn:
        word = "WARN";
        break;
      case spdlog::level::err:
      case spdlog::level::critical:
        word = "ERROR";
        break;
      default:
        break;
    }
    dest.append(word.data(), word.data() + word.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelWord>();
  }
};

}  // namespace

void log_file_error(const std::string& message) {
  if (auto file = spdlog::get(kFileLogger)) file->error("{}", message);
}

void setup_logging(int verbosity, bool quiet, const std::string& log_file, bool problem_words) {
  auto screen = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  screen->set_pattern("%^%l%$: %v");
  spdlog::level::level_enum level = spdlog::level::warn;
  if (verbosity == 1) level = spdlog::level::info;
  if (verbosity >= 2) level = spdlog::level::debug;
  if (quiet) level = spdlog::level::err;
  screen->set_level(level);
  std::vector<spdlog::sink_ptr> sinks{std::make_shared<PrintableSink>(screen)};
  if (!log_file.empty()) {
    // The log file gets everything; it never holds secrets (nothing logs them).
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file, false);
    if (problem_words) {
      auto formatter = std::make_unique<spdlog::pattern_formatter>();
      formatter->add_flag<LevelWord>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %* %v");
      file->set_formatter(std::move(formatter));
    } else {
      file->set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] %v");
    }
    file->set_level(spdlog::level::debug);
    auto printable_file = std::make_shared<PrintableSink>(file);
    sinks.push_back(printable_file);
    spdlog::drop(kFileLogger);
    auto file_only = std::make_shared<spdlog::logger>(kFileLogger, printable_file);
    file_only->flush_on(spdlog::level::info);
    spdlog::register_logger(file_only);
    level = spdlog::level::debug;
  }
  auto logger = std::make_shared<spdlog::logger>("mailmig", sinks.begin(), sinks.end());
  logger->set_level(std::min(level, spdlog::level::info));
  if (log_file.empty()) logger->set_level(level);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

int report_setup_error(const std::exception_ptr& error, std::ostream& err) {
  try {
    std::rethrow_exception(error);
  } catch (const SpecError& e) {
    err << "mailmig: " << e.what() << "\n";
    log_file_error(e.what());
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    err << "mailmig: " << e.what() << "\n";
    log_file_error(e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
    log_file_error(e.what());
    return kExitFatal;
  }
}

int run_inventory(const InventoryCommand& command, std::ostream& out, std::ostream& err) {
  OpenedSource opened;
  try {
    opened = open_source(command.source, command.source_options);
  } catch (const SpecError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitFatal;
  }
  spdlog::info("{}", opened.description);

  Inventory inventory;
  try {
    inventory = take_inventory(*opened.source, command.inventory);
  } catch (const SelectionError& e) {
    err << "mailmig: " << e.what() << "\n";
    return kExitUsage;
  }

  std::ofstream file;
  std::ostream* sink = &out;
  if (!command.output.empty()) {
    file.open(command.output, std::ios::out | std::ios::trunc);
    if (!file) {
      err << fmt::format("mailmig: cannot write {}\n", command.output);
      return kExitFatal;
    }
    sink = &file;
  }
  if (command.json) {
    *sink << inventory_to_json(inventory).dump(2, ' ', false,
                                               nlohmann::ordered_json::error_handler_t::replace)
          << "\n";
  } else {
    print_inventory(inventory, TextReportOptions{.folders = command.folders, .title = opened.description},
                    *sink);
  }
  sink->flush();
  if (!*sink) {
    err << "mailmig: writing the report failed\n";
    return kExitFatal;
  }
  if (!inventory.problems.empty()) {
    // The report lists them; stderr gets the count so a --json run is not silent about it.
    err << fmt::format("mailmig: {} problem(s) found; see the errors in the report\n",
                       inventory.problems.size());
    return kExitProblems;
  }
  return kExitOk;
}

}  // namespace mailmig::cli

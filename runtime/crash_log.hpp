// The crash-report log: structured reports of crashed actors, in a rotating
// file of their own that is kept across restarts and can be read back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <spdlog/logger.h>

namespace troupe::runtime {

/// What is known about one crash, or one supervisor report (OTP's
/// crash reports and supervisor reports share the log).
struct crash_report {
  std::string time;         ///< wall-clock time, ISO 8601 (for humans only)
  std::string node;         ///< node name
  std::uint64_t actor_id{}; ///< CAF actor id
  std::string name;         ///< registered name, or empty
  std::string behaviour;    ///< e.g. `gen_server`
  std::string last_message; ///< the message being handled, rendered
  std::string status;       ///< the behaviour's `format_status` output
  std::string reason;       ///< exit reason, rendered
  /// `crash` (an actor crashed) or `supervisor` (a supervisor reports
  /// about a child, as OTP's supervisor reports).
  std::string kind = "crash";
  /// For a supervisor report, OTP's error context: `child_terminated`,
  /// `start_error`, `shutdown_error` or `shutdown`.
  std::string context{};
  /// For a supervisor report, the child it is about (its id).
  std::string offender{};
  /// For a supervisor report, the child's actor id (0 if not running).
  std::uint64_t offender_actor = 0;

  friend bool operator==(const crash_report&, const crash_report&) = default;
};

/// One JSON object per line; `parse_crash_report` reads it back.
std::string to_json_line(const crash_report& report);

/// Parses one line written by `to_json_line`.
caf::expected<crash_report> parse_crash_report(const std::string& line);

/// Appends reports to `<dir>/crash.log`, rotating it like the main log.
/// Thread-safe; any actor of the node may write.
class crash_log {
public:
  /// Opens (creating if needed) the crash log in `dir`.
  static caf::expected<std::shared_ptr<crash_log>>
  open(const std::filesystem::path& dir, std::uint64_t max_file_bytes = 1 << 20,
       std::uint32_t max_files = 5);

  /// Writes one report (stamping `time` if empty) and flushes it.
  void write(crash_report report);

  /// Reads every report still on disk, oldest first. Lines that do not
  /// parse are skipped and counted in `unreadable`.
  struct contents {
    std::vector<crash_report> reports;
    size_t unreadable = 0;
  };
  contents read() const;

  /// Reads the reports of a crash log directory without opening it for
  /// writing (e.g. of a node that is not running).
  static contents read(const std::filesystem::path& dir,
                       std::uint32_t max_files = 5);

private:
  crash_log(std::filesystem::path dir, std::uint32_t max_files,
            std::shared_ptr<spdlog::logger> out);

  std::filesystem::path dir_;
  std::uint32_t max_files_;
  std::shared_ptr<spdlog::logger> out_;
};

} // namespace troupe::runtime

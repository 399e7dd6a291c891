// One logging context per node: shared sinks and named component loggers.
#pragma once

#include "config.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>
#include <spdlog/common.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

namespace troupe::runtime {

/// Converts our level to spdlog's.
spdlog::level::level_enum to_spdlog(log_level level);

/// A node's sinks and loggers. Loggers are named `<node>.<folder>.<component>`
/// (e.g. `n3.cluster.gossip`) and live here, never in spdlog's global
/// registry, so several nodes can share one process. Thread-safe.
class log_context {
public:
  /// How to build a context.
  struct options {
    /// Short node name, the first part of every logger name.
    std::string node;
    /// Initial level of every logger.
    log_level level = log_level::info;
    /// Write to standard error.
    bool console = true;
    /// Rotating log file, if any.
    std::optional<std::filesystem::path> file{};
    /// Size at which the file rotates.
    std::uint64_t max_file_bytes = 10 * 1024 * 1024;
    /// Rotated files kept.
    std::uint32_t max_files = 5;
    /// Further sinks, e.g. a ring buffer in tests.
    std::vector<spdlog::sink_ptr> extra_sinks{};
    /// Lines kept in memory for `recent` (the console's `log tail`).
    size_t recent_lines = 1000;
  };

  /// Builds a context; fails if the log file cannot be opened.
  static caf::expected<std::shared_ptr<log_context>> make(options opts);

  /// Returns the logger `<node>.<folder>.<component>`, creating it on first
  /// use with the level set for it (or the default level).
  std::shared_ptr<spdlog::logger> get(std::string_view folder,
                                      std::string_view component);

  /// Sets the level of every logger whose name, without the node prefix,
  /// equals `selector` or starts with `selector.` (`cluster` matches
  /// `cluster.gossip`); `*` matches all. Applies to loggers created later
  /// too. Returns the number of existing loggers changed.
  size_t set_level(std::string_view selector, log_level level);

  /// Names of all loggers created so far.
  std::vector<std::string> logger_names() const;

  /// The last `n` formatted lines logged (at most `options::recent_lines`),
  /// oldest first.
  std::vector<std::string> recent(size_t n) const;

  /// The node name loggers are prefixed with.
  const std::string& node() const {
    return node_;
  }

  /// Flushes every sink.
  void flush();

  ~log_context();

private:
  log_context(std::string node, log_level level,
              std::vector<spdlog::sink_ptr> sinks);

  log_level level_for(std::string_view suffix) const;

  std::string node_;
  std::vector<spdlog::sink_ptr> sinks_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> recent_;
  mutable std::mutex mtx_;
  std::map<std::string, std::shared_ptr<spdlog::logger>, std::less<>> loggers_;
  // Selector -> level, in the order set; later entries win.
  std::vector<std::pair<std::string, log_level>> overrides_;
};

} // namespace troupe::runtime

// One logging context per node: shared sinks and named component loggers.
#include "logging.hpp"

#include "errors.hpp"

#include <fmt/format.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>

namespace troupe::runtime {

namespace {

constexpr auto log_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v";

bool selector_matches(std::string_view selector, std::string_view suffix) {
  if (selector == "*" || selector == suffix) {
    return true;
  }
  return suffix.size() > selector.size() && suffix.rfind(selector, 0) == 0
         && suffix[selector.size()] == '.';
}

} // namespace

spdlog::level::level_enum to_spdlog(log_level level) {
  switch (level) {
    case log_level::trace:
      return spdlog::level::trace;
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
    case log_level::critical:
      return spdlog::level::critical;
    case log_level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

caf::expected<std::shared_ptr<log_context>> log_context::make(options opts) {
  std::vector<spdlog::sink_ptr> sinks;
  if (opts.console) {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  }
  if (opts.file) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        opts.file->string(), opts.max_file_bytes, opts.max_files));
    } catch (const spdlog::spdlog_ex& ex) {
      return caf::make_error(errc::data_dir_unusable,
                             fmt::format("cannot open log file {}: {}",
                                         opts.file->string(), ex.what()));
    }
  }
  for (auto& sink : opts.extra_sinks) {
    sinks.push_back(std::move(sink));
  }
  auto recent = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(
    std::max<size_t>(opts.recent_lines, 1));
  sinks.push_back(recent);
  for (auto& sink : sinks) {
    sink->set_pattern(log_pattern);
  }
  std::shared_ptr<log_context> ctx{
    new log_context(std::move(opts.node), opts.level, std::move(sinks))};
  ctx->recent_ = std::move(recent);
  return ctx;
}

std::vector<std::string> log_context::recent(size_t n) const {
  auto lines = recent_->last_formatted(n);
  for (auto& line : lines) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.pop_back();
    }
  }
  return lines;
}

log_context::log_context(std::string node, log_level level,
                         std::vector<spdlog::sink_ptr> sinks)
  : node_(std::move(node)), sinks_(std::move(sinks)) {
  overrides_.emplace_back("*", level);
}

log_context::~log_context() {
  flush();
}

log_level log_context::level_for(std::string_view suffix) const {
  auto result = log_level::info;
  for (const auto& [selector, level] : overrides_) {
    if (selector_matches(selector, suffix)) {
      result = level;
    }
  }
  return result;
}

std::shared_ptr<spdlog::logger> log_context::get(std::string_view folder,
                                                 std::string_view component) {
  auto suffix = fmt::format("{}.{}", folder, component);
  auto name = fmt::format("{}.{}", node_, suffix);
  std::lock_guard guard{mtx_};
  if (auto i = loggers_.find(name); i != loggers_.end()) {
    return i->second;
  }
  auto logger = std::make_shared<spdlog::logger>(name, sinks_.begin(),
                                                 sinks_.end());
  logger->set_level(to_spdlog(level_for(suffix)));
  logger->flush_on(spdlog::level::info);
  loggers_.emplace(name, logger);
  return logger;
}

size_t log_context::set_level(std::string_view selector, log_level level) {
  std::lock_guard guard{mtx_};
  if (selector == "*") {
    overrides_.clear();
  }
  overrides_.emplace_back(selector, level);
  size_t changed = 0;
  auto prefix_len = node_.size() + 1;
  for (auto& [name, logger] : loggers_) {
    if (selector_matches(selector, std::string_view{name}.substr(prefix_len))) {
      logger->set_level(to_spdlog(level));
      ++changed;
    }
  }
  return changed;
}

std::vector<std::string> log_context::logger_names() const {
  std::lock_guard guard{mtx_};
  std::vector<std::string> names;
  names.reserve(loggers_.size());
  for (const auto& entry : loggers_) {
    names.push_back(entry.first);
  }
  return names;
}

void log_context::flush() {
  for (auto& sink : sinks_) {
    sink->flush();
  }
}

} // namespace troupe::runtime

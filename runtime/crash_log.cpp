// The crash-report log.
#include "crash_log.hpp"

#include "errors.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/rotating_file_sink.h>

#include <chrono>
#include <fstream>

namespace troupe::runtime {

namespace {

constexpr const char* file_name = "crash.log";

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              now.time_since_epoch())
            % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(now)),
                     ms.count());
}

// Rotated files are crash.N.log, N = 1 the newest.
std::filesystem::path rotated(const std::filesystem::path& dir, uint32_t n) {
  if (n == 0) {
    return dir / file_name;
  }
  return dir / fmt::format("crash.{}.log", n);
}

} // namespace

std::string to_json_line(const crash_report& r) {
  nlohmann::json j{
    {"time", r.time},           {"node", r.node},
    {"actor_id", r.actor_id},   {"name", r.name},
    {"behaviour", r.behaviour}, {"last_message", r.last_message},
    {"status", r.status},       {"reason", r.reason},
    {"kind", r.kind},
  };
  if (r.kind != "crash") {
    j["context"] = r.context;
    j["offender"] = r.offender;
    j["offender_actor"] = r.offender_actor;
  }
  // Replace invalid UTF-8 rather than throwing: reports quote user data.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

caf::expected<crash_report> parse_crash_report(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  auto text = [&j](const char* key) -> std::optional<std::string> {
    auto i = j.find(key);
    if (i == j.end() || !i->is_string()) {
      return std::nullopt;
    }
    return i->get<std::string>();
  };
  crash_report r;
  auto id = j.is_object() ? j.find("actor_id") : j.end();
  auto time = text("time");
  auto node = text("node");
  auto name = text("name");
  auto behaviour = text("behaviour");
  auto last = text("last_message");
  auto status = text("status");
  auto reason = text("reason");
  if (!j.is_object() || id == j.end() || !id->is_number_unsigned() || !time
      || !node || !name || !behaviour || !last || !status || !reason) {
    return caf::make_error(errc::corrupt_file,
                           "not a crash report: expected one JSON object "
                           "with the report's fields");
  }
  r.time = *time;
  r.node = *node;
  r.actor_id = id->get<std::uint64_t>();
  r.name = *name;
  r.behaviour = *behaviour;
  r.last_message = *last;
  r.status = *status;
  r.reason = *reason;
  // Written by older builds without these: a crash.
  r.kind = text("kind").value_or("crash");
  r.context = text("context").value_or("");
  r.offender = text("offender").value_or("");
  if (auto i = j.find("offender_actor");
      i != j.end() && i->is_number_unsigned()) {
    r.offender_actor = i->get<std::uint64_t>();
  }
  return r;
}

caf::expected<std::shared_ptr<crash_log>>
crash_log::open(const std::filesystem::path& dir, std::uint64_t max_file_bytes,
                std::uint32_t max_files) {
  std::shared_ptr<spdlog::logger> out;
  try {
    auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
      (dir / file_name).string(), max_file_bytes, max_files);
    sink->set_pattern("%v");
    out = std::make_shared<spdlog::logger>("crash", std::move(sink));
    out->set_level(spdlog::level::info);
    out->flush_on(spdlog::level::info);
  } catch (const spdlog::spdlog_ex& ex) {
    return caf::make_error(errc::data_dir_unusable,
                           fmt::format("cannot open crash log in {}: {}",
                                       dir.string(), ex.what()));
  }
  return std::shared_ptr<crash_log>{new crash_log(dir, max_files, out)};
}

crash_log::crash_log(std::filesystem::path dir, std::uint32_t max_files,
                     std::shared_ptr<spdlog::logger> out)
  : dir_(std::move(dir)), max_files_(max_files), out_(std::move(out)) {}

void crash_log::write(crash_report report) {
  if (report.time.empty()) {
    report.time = now_iso8601();
  }
  out_->info(to_json_line(report));
}

crash_log::contents crash_log::read() const {
  out_->flush();
  return read(dir_, max_files_);
}

crash_log::contents crash_log::read(const std::filesystem::path& dir,
                                    std::uint32_t max_files) {
  contents out;
  for (auto n = max_files + 1; n-- > 0;) {
    std::ifstream in{rotated(dir, n)};
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) {
        continue;
      }
      if (auto r = parse_crash_report(line)) {
        out.reports.push_back(std::move(*r));
      } else {
        ++out.unreadable;
      }
    }
  }
  return out;
}

} // namespace troupe::runtime

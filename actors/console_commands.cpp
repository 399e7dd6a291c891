// The console commands every node has.
#include "console_commands.hpp"

#include "../runtime/build_info.hpp"
#include "../runtime/config.hpp"
#include "../runtime/errors.hpp"
#include "errors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <charconv>

namespace troupe::actors {

namespace {

console_reply version_command(const console_call&) {
  const auto& b = runtime::this_build();
  nlohmann::json data{
    {"version", b.version},         {"git_describe", b.git_describe},
    {"commit", b.commit},           {"dirty", b.dirty},
    {"build_type", b.build_type},   {"sanitizers", b.sanitizers},
    {"compiler", b.compiler},       {"caf", b.caf_version},
    {"capnproto", b.capnp_version}, {"spdlog", b.spdlog_version},
  };
  return console_reply::success(runtime::to_text(b), std::move(data));
}

console_reply log_command(runtime::log_context& logs,
                          const console_call& call) {
  const auto& args = call.args;
  if (!args.empty() && args[0] == "level") {
    if (args.size() != 3) {
      return console_reply::failure(
        "usage: log level <component> <level> (component: e.g. cluster, "
        "cluster.gossip, or * for all)");
    }
    auto level = runtime::parse_log_level(args[2]);
    if (!level) {
      return console_reply::failure(
        fmt::format("log level: {}", runtime::describe(level.error())));
    }
    auto changed = logs.set_level(args[1], *level);
    return console_reply::success(
      fmt::format("{} set to {} ({} logger{} now, and those created later)",
                  args[1], runtime::to_string(*level), changed,
                  changed == 1 ? "" : "s"),
      {{"component", args[1]},
       {"level", runtime::to_string(*level)},
       {"changed", changed}});
  }
  if (!args.empty() && args[0] == "tail") {
    if (args.size() > 2) {
      return console_reply::failure("usage: log tail [n]");
    }
    size_t n = 20;
    if (args.size() == 2) {
      auto parsed = parse_count(args[1], 1000);
      if (!parsed) {
        return console_reply::failure(
          fmt::format("log tail: {}", runtime::describe(parsed.error())));
      }
      n = *parsed;
    }
    auto lines = logs.recent(n);
    std::string text;
    for (const auto& line : lines) {
      text += line;
      text += '\n';
    }
    if (!text.empty()) {
      text.pop_back();
    }
    return console_reply::success(std::move(text), {{"lines", lines}});
  }
  if (!args.empty() && args[0] == "loggers") {
    auto names = logs.logger_names();
    return console_reply::success(fmt::format("{}", fmt::join(names, "\n")),
                                  {{"loggers", names}});
  }
  return console_reply::failure(
    "usage: log level <component> <level> | log tail [n] | log loggers");
}

nlohmann::json to_json(const runtime::crash_report& r) {
  nlohmann::json j{{"time", r.time},
                   {"node", r.node},
                   {"actor_id", r.actor_id},
                   {"name", r.name},
                   {"behaviour", r.behaviour},
                   {"last_message", r.last_message},
                   {"status", r.status},
                   {"reason", r.reason},
                   {"kind", r.kind}};
  if (r.kind != "crash") {
    j["context"] = r.context;
    j["offender"] = r.offender;
    j["offender_actor"] = r.offender_actor;
  }
  return j;
}

// What a report is about, as a list line shows it: the behaviour of a
// crash, OTP's context and the child for a supervisor report.
std::string what_of(const runtime::crash_report& r) {
  if (r.kind == "supervisor") {
    return fmt::format("supervisor {} child={}", r.context, r.offender);
  }
  return r.behaviour;
}

console_reply reports_command(const runtime::crash_log* crashes,
                              const console_call& call) {
  if (crashes == nullptr) {
    return console_reply::failure("this node keeps no crash-report log");
  }
  auto contents = crashes->read();
  const auto& reports = contents.reports;
  const auto& args = call.args;
  if (!args.empty() && args[0] == "show") {
    if (args.size() != 2) {
      return console_reply::failure("usage: reports show <number>");
    }
    auto i = parse_count(args[1], reports.size());
    if (!i) {
      return console_reply::failure(
        reports.empty()
          ? std::string{"reports show: there are no crash reports"}
          : fmt::format("reports show: {} (there are {} reports)",
                        runtime::describe(i.error()), reports.size()));
    }
    const auto& r = reports[*i - 1];
    if (r.kind == "supervisor") {
      auto text = fmt::format(
        "report {} (supervisor report)\n  time:         {}\n  node:         "
        "{}\n  supervisor:   {} (actor id {})\n  context:      {}\n  "
        "child:        {}\n  reason:       {}",
        *i, r.time, r.node, r.name.empty() ? "-" : r.name, r.actor_id,
        r.context, r.offender, r.reason);
      return console_reply::success(std::move(text), to_json(r));
    }
    auto text = fmt::format(
      "report {}\n  time:         {}\n  node:         {}\n  actor id:     "
      "{}\n  name:         {}\n  behaviour:    {}\n  reason:       {}\n  "
      "last message: {}\n  status:       {}",
      *i, r.time, r.node, r.actor_id, r.name.empty() ? "-" : r.name,
      r.behaviour, r.reason, r.last_message, r.status);
    return console_reply::success(std::move(text), to_json(r));
  }
  size_t n = 20;
  if (args.size() == 1) {
    auto parsed = parse_count(args[0], 100000);
    if (!parsed) {
      return console_reply::failure(
        fmt::format("usage: reports [n] | reports show <number> ({})",
                    runtime::describe(parsed.error())));
    }
    n = *parsed;
  } else if (!args.empty()) {
    return console_reply::failure("usage: reports [n] | reports show <number>");
  }
  std::string text = fmt::format("{} crash report{}", reports.size(),
                                 reports.size() == 1 ? "" : "s");
  if (contents.unreadable > 0) {
    text += fmt::format(" ({} unreadable line{} skipped)", contents.unreadable,
                        contents.unreadable == 1 ? "" : "s");
  }
  auto list = nlohmann::json::array();
  size_t first = reports.size() > n ? reports.size() - n : 0;
  for (size_t i = first; i < reports.size(); ++i) {
    const auto& r = reports[i];
    text += fmt::format("\n{:>4}  {}  {:<12} {:<20} {}", i + 1, r.time,
                        what_of(r), r.name.empty() ? "-" : r.name, r.reason);
    auto j = to_json(r);
    j["number"] = i + 1;
    list.push_back(std::move(j));
  }
  if (!reports.empty()) {
    text += "\n(reports show <number> for the whole report)";
  }
  return console_reply::success(std::move(text),
                                {{"reports", list},
                                 {"total", reports.size()},
                                 {"unreadable", contents.unreadable}});
}

} // namespace

caf::expected<size_t> parse_count(const std::string& text, size_t max) {
  size_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end || value < 1 || value > max) {
    return caf::make_error(errc::bad_console_input,
                           fmt::format("\"{}\" is not a number from 1 to {}",
                                       text, max));
  }
  return value;
}

caf::error add_runtime_commands(console_registry& registry,
                                runtime_sources sources) {
  auto* logs = sources.logs;
  auto* metrics = sources.metrics;
  auto crashes = sources.crashes;
  std::vector<console_command> commands{
    {.name = "version",
     .usage = "",
     .summary = "version and build info of this node's binary",
     .destructive = false,
     .max_args = 0,
     .handler = version_command},
    {.name = "log",
     .usage = "level <component> <level> | tail [n] | loggers",
     .summary = "change a component's log level, show recent log lines",
     .destructive = false,
     .max_args = 3,
     .handler
     = [logs](const console_call& c) { return log_command(*logs, c); }},
    {.name = "reports",
     .usage = "[n] | show <number>",
     .summary = "the last crash reports, or one in full",
     .destructive = false,
     .max_args = 2,
     .handler =
       [crashes](const console_call& c) {
         return reports_command(crashes.get(), c);
       }},
    {.name = "metrics",
     .usage = "",
     .summary = "every metric, in the Prometheus text format",
     .destructive = false,
     .max_args = 0,
     .handler =
       [metrics](const console_call&) {
         auto text = metrics->render_prometheus();
         nlohmann::json data{{"prometheus", text}};
         if (!text.empty() && text.back() == '\n') {
           text.pop_back();
         }
         return console_reply::success(std::move(text), std::move(data));
       }},
  };
  for (auto& cmd : commands) {
    if (auto err = registry.add(std::move(cmd))) {
      return err;
    }
  }
  return {};
}

} // namespace troupe::actors

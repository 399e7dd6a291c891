// A program's own node in a few lines: flags, configuration, signals, stop.
#include "node_main.hpp"

#include "../runtime/build_info.hpp"
#include "../runtime/errors.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <deque>
#include <optional>
#include <thread>

extern char** environ;

namespace troupe {

namespace {

std::string settings_help(const node_program& program) {
  std::string out = "\nConfiguration, lowest precedence first: built-in "
                    "defaults, the TOML file (--config or TROUPE_CONFIG), "
                    "TROUPE_* environment variables, flags.\n\n";
  out += fmt::format("  {:<20} {:<27} {:<12} {}\n", "key", "environment",
                     "flag", "expects");
  for (const auto& s : runtime::settings()) {
    out += fmt::format("  {:<20} {:<27} {:<12} {}\n", s.key, s.env,
                       s.flag.empty() ? "-" : s.flag, s.expected);
  }
  if (program.settings.empty()) {
    return out;
  }
  out += fmt::format("\nSettings of {}:\n\n", program.name);
  for (const auto& s : program.settings) {
    out += fmt::format("  {:<20} {:<27} {:<12} {}\n", s.key,
                       runtime::custom_env_name(s.key),
                       s.flag.empty() ? "-" : s.flag, s.expected);
    if (!s.help.empty()) {
      out += fmt::format("  {:<20} {}\n", "", s.help);
    }
  }
  return out;
}

// Turns SIGINT and SIGTERM into a stop request for the node, on a thread of
// its own (the signals are blocked everywhere else).
class signal_forwarder {
public:
  signal_forwarder(const sigset_t& signals, node& n)
    : signals_(signals), thread_([this, &n] { run(n); }) {}

  signal_forwarder(const signal_forwarder&) = delete;
  signal_forwarder& operator=(const signal_forwarder&) = delete;

  ~signal_forwarder() {
    if (!done_.exchange(true)) {
      pthread_kill(thread_.native_handle(), SIGTERM); // wakes the sigwait
    }
    thread_.join();
  }

private:
  void run(node& n) {
    int sig = 0;
    sigwait(&signals_, &sig);
    if (!done_.exchange(true)) {
      n.request_stop({.reason = sig == SIGINT ? "SIGINT" : "SIGTERM"});
    }
  }

  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The flags Troupe's settings and the program's settings share.
struct parsed_flags {
  std::optional<std::string> config_file;
  std::optional<std::string> run_for;
  std::map<std::string, std::optional<std::string>> single;
  std::vector<std::string> join;
  // The program's settings, by key (deques keep the addresses CLI11 holds).
  std::deque<std::optional<std::string>> custom_single;
  std::deque<std::vector<std::string>> custom_list;
  std::deque<bool> custom_switch;
  std::vector<std::function<void(runtime::config_input&)>> collect;
};

void add_troupe_flags(CLI::App& app, parsed_flags& f) {
  app.add_option("--config", f.config_file, "TOML configuration file");
  auto single = [&](const char* flag, const char* key, const char* help) {
    app.add_option(flag, f.single[key], help);
  };
  single("--name", "node.name", "node name, name or name@host");
  single("--listen", "node.listen", "cluster listen address host:port");
  single("--advertise", "node.advertise",
         "address other nodes dial, host:port (default: the listen address)");
  single("--data-dir", "node.data_dir", "data directory");
  single("--log-level", "log.level", "initial log level");
  app.add_option("--join", f.join, "seed node host:port (repeatable)");
  single("--console-tcp", "console.tcp",
         "console over TCP host:port (token in the data directory), or off");
  single("--http", "http.listen",
         "HTTP host:port for /metrics, /status, /healthz, or off");
  app.add_option("--run-for", f.run_for,
                 "stop after this long, e.g. 30s (default: until signalled)");
}

void add_program_flags(CLI::App& app, const node_program& program,
                       parsed_flags& f) {
  for (const auto& s : program.settings) {
    if (s.flag.empty()) {
      continue;
    }
    auto key = s.key;
    if (s.is_switch) {
      auto& value = f.custom_switch.emplace_back(false);
      app.add_flag(s.flag, value, s.help);
      f.collect.emplace_back([key, &value](runtime::config_input& in) {
        if (value) {
          in.flags[key] = {"true"};
        }
      });
    } else if (s.is_list) {
      auto& value = f.custom_list.emplace_back();
      app.add_option(s.flag, value, s.help);
      f.collect.emplace_back([key, &value](runtime::config_input& in) {
        if (!value.empty()) {
          in.flags[key] = value;
        }
      });
    } else {
      auto& value = f.custom_single.emplace_back();
      app.add_option(s.flag, value, s.help);
      f.collect.emplace_back([key, &value](runtime::config_input& in) {
        if (value) {
          in.flags[key] = {*value};
        }
      });
    }
  }
}

} // namespace

int node_main(int argc, char** argv, node_program program) {
  const auto& prog = program.name;
  CLI::App app{fmt::format("{}: {}", prog,
                           program.description.empty()
                             ? std::string{"runs one Troupe node"}
                             : program.description),
               prog};
  app.footer(settings_help(program));
  app.set_version_flag("--version",
                       [] { return runtime::to_text(runtime::this_build()); });
  parsed_flags flags;
  add_troupe_flags(app, flags);
  add_program_flags(app, program, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see %s --help)\n", prog.c_str(), e.what(),
                 prog.c_str());
    return node_exit_usage;
  }

  runtime::config_input input;
  if (flags.config_file) {
    input.file = *flags.config_file;
  }
  input.environment = runtime::troupe_environment(environ);
  for (const auto& [key, value] : flags.single) {
    if (value) {
      input.flags[key] = {*value};
    }
  }
  if (!flags.join.empty()) {
    input.flags["cluster.join"] = flags.join;
  }
  for (const auto& collect : flags.collect) {
    collect(input);
  }
  input.custom = std::move(program.settings);
  std::optional<std::chrono::milliseconds> run_for;
  if (flags.run_for) {
    auto parsed = runtime::parse_duration(*flags.run_for);
    if (!parsed) {
      std::fprintf(stderr, "%s: --run-for: %s\n", prog.c_str(),
                   runtime::describe(parsed.error()).c_str());
      return node_exit_usage;
    }
    run_for = *parsed;
  }
  auto cfg = runtime::load_config(input);
  if (!cfg) {
    std::fprintf(stderr, "%s: %s\n", prog.c_str(),
                 runtime::describe(cfg.error()).c_str());
    return node_exit_usage;
  }
  node::options opts;
  if (program.configure) {
    if (auto err = program.configure(*cfg, opts)) {
      std::fprintf(stderr, "%s: %s\n", prog.c_str(),
                   runtime::describe(err).c_str());
      return node_exit_usage;
    }
  }

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only the wait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto n = node::start(std::move(*cfg), std::move(opts));
  if (!n) {
    std::fprintf(stderr, "%s: cannot start: %s\n", prog.c_str(),
                 runtime::describe(n.error()).c_str());
    return node_exit_failure;
  }
  if (program.started) {
    if (auto err = program.started(**n)) {
      std::fprintf(stderr, "%s: %s\n", prog.c_str(),
                   runtime::describe(err).c_str());
      (*n)->stop("the program's start failed");
      return node_exit_failure;
    }
  }
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (run_for) {
    deadline = std::chrono::steady_clock::now() + *run_for;
  }
  auto request = [&] {
    signal_forwarder forward{signals, **n};
    return (*n)->await_stop_request(deadline);
  }();
  if (!request) {
    request = node::stop_request{
      .reason = fmt::format("run-for {}ms elapsed", run_for->count())};
  }
  (*n)->stop(request->reason);
  if (request->failure) {
    std::fprintf(stderr, "%s: stopped: %s\n", prog.c_str(),
                 request->reason.c_str());
    return node_exit_failure;
  }
  return node_exit_ok;
}

} // namespace troupe

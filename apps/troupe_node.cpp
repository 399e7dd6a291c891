// troupe-node: runs one Troupe node from a config file, environment and flags.
#include "apps/node.hpp"

#include "apps/example_counter.hpp"

#include "runtime/build_info.hpp"
#include "runtime/config.hpp"
#include "runtime/errors.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

extern char** environ;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

std::string settings_help() {
  std::string out = "\nConfiguration, lowest precedence first: built-in "
                    "defaults, the TOML file (--config or TROUPE_CONFIG), "
                    "TROUPE_* environment variables, flags.\n\n";
  out += fmt::format("  {:<20} {:<27} {:<12} {}\n", "key", "environment",
                     "flag", "expects");
  for (const auto& s : troupe::runtime::settings()) {
    out += fmt::format("  {:<20} {:<27} {:<12} {}\n", s.key, s.env,
                       s.flag.empty() ? "-" : s.flag, s.expected);
  }
  return out;
}

// Turns SIGINT and SIGTERM into a stop request for the node, on a thread of
// its own (the signals are blocked everywhere else).
class signal_forwarder {
public:
  signal_forwarder(const sigset_t& signals, troupe::node& node)
    : signals_(signals), thread_([this, &node] { run(node); }) {}

  signal_forwarder(const signal_forwarder&) = delete;
  signal_forwarder& operator=(const signal_forwarder&) = delete;

  ~signal_forwarder() {
    if (!done_.exchange(true)) {
      pthread_kill(thread_.native_handle(), SIGTERM); // wakes the sigwait
    }
    thread_.join();
  }

private:
  void run(troupe::node& node) {
    int sig = 0;
    sigwait(&signals_, &sig);
    if (!done_.exchange(true)) {
      node.request_stop({.reason = sig == SIGINT ? "SIGINT" : "SIGTERM"});
    }
  }

  sigset_t signals_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

} // namespace

int main(int argc, char** argv) {
  namespace rt = troupe::runtime;
  CLI::App app{"troupe-node: runs one Troupe node", "troupe-node"};
  app.footer(settings_help());
  app.set_version_flag("--version",
                       [] { return rt::to_text(rt::this_build()); });
  std::optional<std::string> config_file;
  std::optional<std::string> name;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::optional<std::string> level;
  std::vector<std::string> join;
  std::optional<std::string> run_for_text;
  std::optional<std::string> console_tcp;
  std::optional<std::string> http;
  bool examples = false;
  app.add_option("--config", config_file, "TOML configuration file");
  app.add_option("--name", name, "node name, name or name@host");
  app.add_option("--listen", listen, "cluster listen address host:port");
  app.add_option("--data-dir", data_dir, "data directory");
  app.add_option("--log-level", level, "initial log level");
  app.add_option("--join", join, "seed node host:port (repeatable)");
  app.add_option("--console-tcp", console_tcp,
                 "console over TCP host:port (token in the data directory), "
                 "or off");
  app.add_option("--http", http,
                 "HTTP host:port for /metrics, /status, /healthz, or off");
  app.add_flag("--examples", examples,
               "run the example service (counter/<key> virtual actors and "
               "the console command `counter`)");
  app.add_option("--run-for", run_for_text,
                 "stop after this long, e.g. 30s (default: until signalled)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "troupe-node: %s (see troupe-node --help)\n",
                 e.what());
    return exit_usage;
  }

  rt::config_input input;
  if (config_file) {
    input.file = *config_file;
  }
  input.environment = rt::troupe_environment(environ);
  auto put = [&input](const char* key, const std::optional<std::string>& v) {
    if (v) {
      input.flags[key] = {*v};
    }
  };
  put("node.name", name);
  put("node.listen", listen);
  put("node.data_dir", data_dir);
  put("log.level", level);
  put("console.tcp", console_tcp);
  put("http.listen", http);
  if (!join.empty()) {
    input.flags["cluster.join"] = join;
  }
  std::optional<std::chrono::milliseconds> run_for;
  if (run_for_text) {
    auto parsed = rt::parse_duration(*run_for_text);
    if (!parsed) {
      std::fprintf(stderr, "troupe-node: --run-for: %s\n",
                   rt::describe(parsed.error()).c_str());
      return exit_usage;
    }
    run_for = *parsed;
  }
  auto cfg = rt::load_config(input);
  if (!cfg) {
    std::fprintf(stderr, "troupe-node: %s\n",
                 rt::describe(cfg.error()).c_str());
    return exit_usage;
  }

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only the wait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  troupe::node::options opts;
  if (examples) {
    opts.kinds.push_back(troupe::example_counter_kind(cfg->full_name()));
  }
  auto node = troupe::node::start(std::move(*cfg), std::move(opts));
  if (!node) {
    std::fprintf(stderr, "troupe-node: cannot start: %s\n",
                 rt::describe(node.error()).c_str());
    return exit_failure;
  }
  if (examples) {
    auto err = (*node)->console().add(
      troupe::example_counter_command((*node)->router()));
    if (!err) {
      err = (*node)->cluster().service("counter", true);
    }
    if (err) {
      std::fprintf(stderr, "troupe-node: example service: %s\n",
                   rt::describe(err).c_str());
      (*node)->stop("example service failed");
      return exit_failure;
    }
  }
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (run_for) {
    deadline = std::chrono::steady_clock::now() + *run_for;
  }
  auto request = [&] {
    signal_forwarder forward{signals, **node};
    return (*node)->await_stop_request(deadline);
  }();
  if (!request) {
    request = troupe::node::stop_request{
      .reason = fmt::format("run-for {}ms elapsed", run_for->count())};
  }
  (*node)->stop(request->reason);
  if (request->failure) {
    std::fprintf(stderr, "troupe-node: stopped: %s\n", request->reason.c_str());
    return exit_failure;
  }
  return exit_ok;
}

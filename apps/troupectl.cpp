// troupectl: the operator's CLI for a running node's console, one-shot or
// attached (line editing, history, completion).
#include "../actors/console.hpp"
#include "../actors/errors.hpp"
#include "../runtime/build_info.hpp"
#include "../runtime/config.hpp"
#include "../runtime/errors.hpp"
#include "../runtime/secret_file.hpp"
#include "console_client.hpp"

#include <editline/readline.h>
#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_command_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_unreachable = 3;

constexpr const char* usage_text
  = R"(usage: troupectl [TARGET] [--json] [--yes] [--timeout DURATION] COMMAND [ARGS...]
       troupectl [TARGET] attach

Talks to a running node's console. TARGET is one of
  --data-dir DIR        the node's data directory (its console.sock); the
                        default is $TROUPE_NODE_DATA_DIR, else data/n1
  --socket PATH         the console's Unix socket
  --host HOST:PORT --token-file FILE
                        the console over TCP (console.tcp), with the token
                        from the node's data directory (console.token)
Options
  --json                ask for JSON instead of text
  --yes                 confirm a command that changes the node (kill,
                        join, leave, down, drain, undrain)
  --timeout DURATION    how long to wait for the reply (default 60s)
  --help, --version
`troupectl help` lists the node's commands. `attach` opens an interactive
console: Tab completes command names, Ctrl-C cancels the line, Ctrl-D (or
`detach`) leaves; nothing typed there stops the node.
Exit status: 0 ok, 1 the command failed, 2 bad usage, 3 node unreachable.
)";

struct cli {
  std::optional<std::string> data_dir;
  std::optional<std::string> socket;
  std::optional<std::string> host;
  std::optional<std::string> token_file;
  bool json = false;
  bool yes = false;
  std::chrono::milliseconds timeout{60000};
  std::vector<std::string> words;
};

int usage_error(const std::string& why) {
  std::fprintf(stderr, "troupectl: %s (see troupectl --help)\n", why.c_str());
  return exit_usage;
}

// Parses argv by hand so that options may follow the command
// (`troupectl kill cluster/gossip --yes`); `--` ends the options.
std::optional<int> parse(int argc, char** argv, cli& out) {
  bool options_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (options_done || a.size() < 2 || a.rfind("--", 0) != 0) {
      out.words.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "--help") {
      std::fputs(usage_text, stdout);
      return exit_ok;
    }
    if (a == "--version") {
      auto text = troupe::runtime::to_text(troupe::runtime::this_build());
      std::printf("%s\n", text.c_str());
      return exit_ok;
    }
    if (a == "--json") {
      out.json = true;
      continue;
    }
    if (a == "--yes") {
      out.yes = true;
      continue;
    }
    auto value = [&](std::optional<std::string>& slot) -> bool {
      if (i + 1 >= argc) {
        return false;
      }
      slot = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--data-dir") {
      ok = value(out.data_dir);
    } else if (a == "--socket") {
      ok = value(out.socket);
    } else if (a == "--host") {
      ok = value(out.host);
    } else if (a == "--token-file") {
      ok = value(out.token_file);
    } else if (a == "--timeout") {
      std::optional<std::string> text;
      ok = value(text);
      if (ok) {
        auto d = troupe::runtime::parse_duration(*text);
        if (!d || d->count() <= 0) {
          return usage_error("--timeout: expected a duration such as 10s");
        }
        out.timeout = *d;
      }
    } else {
      return usage_error("unknown option " + a);
    }
    if (!ok) {
      return usage_error(a + " needs a value");
    }
  }
  int targets = (out.data_dir ? 1 : 0) + (out.socket ? 1 : 0)
                + (out.host ? 1 : 0);
  if (targets > 1) {
    return usage_error("give one of --data-dir, --socket and --host");
  }
  if (out.host.has_value() != out.token_file.has_value()) {
    return usage_error("--host and --token-file go together");
  }
  if (out.words.empty()) {
    return usage_error("no command");
  }
  return std::nullopt;
}

caf::expected<troupe::console_client> connect(const cli& c) {
  namespace rt = troupe::runtime;
  if (c.host) {
    auto ep = rt::parse_endpoint(*c.host);
    if (!ep) {
      return caf::make_error(troupe::actors::errc::bad_console_input,
                             "--host: expected host:port");
    }
    // Reading the token never creates it: only the node does.
    if (!std::filesystem::exists(*c.token_file)) {
      return caf::make_error(troupe::actors::errc::bad_console_input,
                             "--token-file: " + *c.token_file
                               + " does not exist");
    }
    auto token = rt::load_secret_file(*c.token_file, "console token");
    if (!token) {
      return std::move(token.error());
    }
    return troupe::console_client::connect_tcp(*ep, std::move(*token));
  }
  std::filesystem::path socket;
  if (c.socket) {
    socket = *c.socket;
  } else {
    std::string dir = "data/n1";
    if (c.data_dir) {
      dir = *c.data_dir;
    } else if (const char* env = std::getenv("TROUPE_NODE_DATA_DIR")) {
      dir = env;
    }
    socket = std::filesystem::path{dir} / "console.sock";
  }
  return troupe::console_client::connect_unix(socket);
}

std::string render(const caf::error& err) {
  return troupe::runtime::describe(err);
}

int one_shot(troupe::console_client& client, const cli& c) {
  auto reply = client.call(c.words, c.json, c.yes, c.timeout);
  if (!reply) {
    std::fprintf(stderr, "troupectl: %s\n", render(reply.error()).c_str());
    return exit_unreachable;
  }
  if (c.json) {
    nlohmann::json out{{"ok", reply->ok}, {"data", reply->data}};
    if (!reply->ok) {
      out["error"] = reply->text;
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else if (reply->ok) {
    std::printf("%s\n", reply->text.c_str());
  } else {
    std::fprintf(stderr, "error: %s\n", reply->text.c_str());
  }
  return reply->ok ? exit_ok : exit_command_failed;
}

// -- attach -------------------------------------------------------------------

std::atomic<bool> interrupted{false};
std::vector<std::string> completions;
// A key read in the same call that saw the interrupt: it belongs to the
// next line.
std::optional<unsigned char> pending_key;

void on_sigint(int) {
  interrupted = true;
}

// Reads the keys for libedit. A Ctrl-C (SIGINT) while a line is edited
// ends the line at once; `read_line` then drops it.
int read_key(FILE*) {
  for (;;) {
    if (interrupted) {
      return '\n';
    }
    if (pending_key) {
      auto c = *pending_key;
      pending_key.reset();
      return c;
    }
    unsigned char c = 0;
    auto r = ::read(STDIN_FILENO, &c, 1);
    if (r == 1) {
      if (interrupted) {
        pending_key = c; // typed after the Ctrl-C
        return '\n';
      }
      return c;
    }
    if (r < 0 && errno == EINTR) {
      continue;
    }
    return EOF;
  }
}

char* complete_command(const char* text, int state) {
  static size_t next = 0;
  if (state == 0) {
    next = 0;
  }
  size_t len = std::strlen(text);
  while (next < completions.size()) {
    const auto& name = completions[next++];
    if (name.compare(0, len, text) == 0) {
      return strdup(name.c_str());
    }
  }
  return nullptr;
}

char** complete(const char* text, int start, int) {
  rl_attempted_completion_over = 1; // never complete file names
  if (start != 0) {
    return nullptr;
  }
  return rl_completion_matches(text, complete_command);
}

// Reads a line; nullopt on Ctrl-D. Ctrl-C gives an empty line.
std::optional<std::string> read_line(const std::string& prompt) {
  interrupted = false;
  char* raw = readline(prompt.c_str());
  if (raw == nullptr) {
    if (interrupted) {
      std::printf("\n");
      return std::string{};
    }
    return std::nullopt;
  }
  std::string line{raw};
  std::free(raw);
  if (interrupted) {
    return std::string{}; // cancelled: the editor has ended the line
  }
  return line;
}

int attach(troupe::console_client& client, const cli& c) {
  auto help = client.call({"help"}, true, false, c.timeout);
  auto status = client.call({"status"}, true, false, c.timeout);
  if (!help || !status) {
    std::fprintf(stderr, "troupectl: %s\n",
                 render(!help ? help.error() : status.error()).c_str());
    return exit_unreachable;
  }
  std::set<std::string> destructive;
  for (const auto& cmd :
       help->data.value("commands", nlohmann::json::array())) {
    auto name = cmd.value("name", "");
    completions.push_back(name);
    if (cmd.value("destructive", false)) {
      destructive.insert(name);
    }
  }
  completions.emplace_back("detach");
  std::string node = status->data.value("name", std::string{"node"});
  std::printf("attached to %s. Tab completes, Ctrl-C cancels the line, "
              "Ctrl-D or `detach` leaves; nothing typed here stops the "
              "node.\n",
              node.c_str());
  // Ctrl-C interrupts the line being edited; it never reaches the node.
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: readline returns
  sigaction(SIGINT, &sa, nullptr);
  rl_catch_signals = 0;
  rl_getc_function = read_key;
  rl_attempted_completion_function = complete;
  std::string history;
  if (const char* home = std::getenv("HOME")) {
    history = std::string{home} + "/.troupectl_history";
    read_history(history.c_str());
  }
  auto prompt = node + "> ";
  int rc = exit_ok;
  for (;;) {
    auto line = read_line(prompt);
    if (!line) {
      std::printf("\n");
      break;
    }
    auto words = troupe::actors::split_words(*line);
    if (!words) {
      std::printf("error: %s\n", render(words.error()).c_str());
      continue;
    }
    if (words->empty()) {
      continue;
    }
    add_history(line->c_str());
    if ((*words)[0] == "detach" || (*words)[0] == "exit"
        || (*words)[0] == "quit") {
      break;
    }
    bool confirmed = false;
    if (destructive.count((*words)[0]) != 0) {
      auto answer = read_line(fmt::format("{} changes the node; really run "
                                          "it? [y/N] ",
                                          (*words)[0]));
      if (!answer || (*answer != "y" && *answer != "yes")) {
        std::printf("not run\n");
        continue;
      }
      confirmed = true;
    }
    auto reply = client.call(*words, false, confirmed, c.timeout);
    if (!reply) {
      std::fprintf(stderr, "troupectl: %s\n", render(reply.error()).c_str());
      rc = exit_unreachable;
      break;
    }
    if (reply->ok) {
      std::printf("%s\n", reply->text.c_str());
    } else {
      std::printf("error: %s\n", reply->text.c_str());
    }
  }
  if (!history.empty()) {
    write_history(history.c_str());
  }
  std::printf("detached from %s\n", node.c_str());
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  cli c;
  if (auto rc = parse(argc, argv, c)) {
    return *rc;
  }
  auto client = connect(c);
  if (!client) {
    std::fprintf(stderr, "troupectl: %s\n", render(client.error()).c_str());
    return client.error() == troupe::actors::errc::bad_console_input
             ? exit_usage
             : exit_unreachable;
  }
  if (c.words.size() == 1 && c.words[0] == "attach") {
    return attach(*client, c);
  }
  return one_shot(*client, c);
}

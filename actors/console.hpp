// The console's command registry: each layer and each user service adds its
// own commands; endpoints (socket, TCP, attach) run them by name.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>
#include <nlohmann/json.hpp>

namespace troupe::actors {

/// One invocation of a console command.
struct console_call {
  /// The words after the command name.
  std::vector<std::string> args;
  /// The caller wants `console_reply::data` (machine-readable).
  bool json = false;
  /// The caller confirmed a destructive command (`--yes`).
  bool confirmed = false;
};

/// What a command answers: ok or error, text for humans, and optional data
/// for `--json`.
struct console_reply {
  bool ok = true;
  std::string text;
  /// Null when the command has no structured form; endpoints then send
  /// `{"text": ...}`.
  nlohmann::json data{};

  static console_reply success(std::string text,
                               nlohmann::json data = nullptr) {
    return {.ok = true, .text = std::move(text), .data = std::move(data)};
  }
  static console_reply failure(std::string text) {
    return {.ok = false, .text = std::move(text), .data = nullptr};
  }
};

/// A console command. The handler runs on the endpoint's connection
/// thread, never on an actor: it may block (with a deadline) on requests to
/// actors, and a wedged actor cannot stall the console's other commands.
struct console_command {
  /// One word: `[a-z][a-z0-9_-]*`.
  std::string name;
  /// Argument synopsis, e.g. `<name | id> [reason]`.
  std::string usage;
  /// One line for `help`.
  std::string summary;
  /// Changes the node (kill, leave, join, drain): one-shot callers must
  /// pass `--yes`; `attach` asks first.
  bool destructive = false;
  /// At most this many arguments (min is checked by the handler); nullopt
  /// for any number.
  std::optional<std::size_t> max_args{};
  std::function<console_reply(const console_call&)> handler;
};

/// Splits a console line into words: blanks separate, double or single
/// quotes group, a backslash escapes the next character. Fails on an
/// unterminated quote or a trailing backslash.
caf::expected<std::vector<std::string>> split_words(std::string_view line);

/// The node's commands. Thread-safe: commands may be added while endpoints
/// run them.
class console_registry {
public:
  console_registry();

  /// Adds a command; fails if the name is malformed or taken.
  caf::error add(console_command cmd);

  /// Removes a command; false if there was none.
  bool remove(std::string_view name);

  /// Sorted command names (for `help` and tab completion).
  std::vector<std::string> names() const;

  /// The command, if any.
  std::optional<console_command> find(std::string_view name) const;

  /// Runs `words` (name first): unknown commands, too many arguments and
  /// unconfirmed destructive commands are errors; a handler's exception
  /// becomes an error reply. `interactive` callers (attach) have confirmed
  /// destructive commands themselves.
  console_reply run(const std::vector<std::string>& words, bool json,
                    bool confirmed) const;

private:
  console_reply help(const console_call& call) const;

  mutable std::mutex mtx_;
  std::map<std::string, console_command, std::less<>> commands_;
};

} // namespace troupe::actors

// The console's command registry.
#include "console.hpp"

#include "errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>

namespace troupe::actors {

namespace {

bool valid_command_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || name[0] < 'a' || name[0] > 'z') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
           || c == '-';
  });
}

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

} // namespace

caf::expected<std::vector<std::string>> split_words(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '\\' && quote != '\'') {
      if (i + 1 == line.size()) {
        return caf::make_error(errc::bad_console_input,
                               std::string{"line ends with a backslash"});
      }
      word += line[++i];
      in_word = true;
    } else if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else {
        word += c;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (is_blank(c)) {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0) {
    return caf::make_error(errc::bad_console_input,
                           fmt::format("unterminated {} quote",
                                       quote == '"' ? "double" : "single"));
  }
  if (in_word) {
    words.push_back(std::move(word));
  }
  return words;
}

console_registry::console_registry() {
  commands_.emplace("help", console_command{
                              .name = "help",
                              .usage = "[command]",
                              .summary = "lists the commands, or explains one",
                              .destructive = false,
                              .max_args = 1,
                              .handler = nullptr, // answered by `run` itself
                            });
}

caf::error console_registry::add(console_command cmd) {
  if (!valid_command_name(cmd.name)) {
    return caf::make_error(
      errc::bad_console_input,
      fmt::format("invalid command name \"{}\" (expected [a-z][a-z0-9_-]*, "
                  "at most 32 characters)",
                  cmd.name));
  }
  if (!cmd.handler) {
    return caf::make_error(errc::bad_console_input,
                           fmt::format("command {} has no handler", cmd.name));
  }
  std::lock_guard<std::mutex> guard{mtx_};
  if (commands_.count(cmd.name) != 0) {
    return caf::make_error(errc::bad_console_input,
                           fmt::format("command {} is already registered",
                                       cmd.name));
  }
  auto name = cmd.name;
  commands_.emplace(std::move(name), std::move(cmd));
  return {};
}

bool console_registry::remove(std::string_view name) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (name == "help") {
    return false;
  }
  auto i = commands_.find(name);
  if (i == commands_.end()) {
    return false;
  }
  commands_.erase(i);
  return true;
}

std::vector<std::string> console_registry::names() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  out.reserve(commands_.size());
  for (const auto& [name, cmd] : commands_) {
    out.push_back(name);
  }
  return out;
}

std::optional<console_command>
console_registry::find(std::string_view name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = commands_.find(name);
  if (i == commands_.end()) {
    return std::nullopt;
  }
  return i->second;
}

console_reply console_registry::run(const std::vector<std::string>& words,
                                    bool json, bool confirmed) const {
  if (words.empty()) {
    return console_reply::failure("empty command (try: help)");
  }
  auto cmd = find(words[0]);
  if (!cmd) {
    return console_reply::failure(
      fmt::format("unknown command \"{}\" (try: help)", words[0]));
  }
  console_call call{.args = {words.begin() + 1, words.end()},
                    .json = json,
                    .confirmed = confirmed};
  if (cmd->max_args && call.args.size() > *cmd->max_args) {
    return console_reply::failure(
      fmt::format("{}: too many arguments (usage: {} {})", cmd->name, cmd->name,
                  cmd->usage));
  }
  if (cmd->destructive && !confirmed) {
    return console_reply::failure(fmt::format(
      "{} changes the node: repeat it with --yes to confirm", cmd->name));
  }
  if (!cmd->handler) {
    return help(call);
  }
  try {
    return cmd->handler(call);
  } catch (const std::exception& ex) {
    return console_reply::failure(
      fmt::format("{}: failed: {}", cmd->name, ex.what()));
  } catch (...) {
    return console_reply::failure(fmt::format("{}: failed", cmd->name));
  }
}

console_reply console_registry::help(const console_call& call) const {
  if (!call.args.empty()) {
    auto cmd = find(call.args[0]);
    if (!cmd) {
      return console_reply::failure(
        fmt::format("unknown command \"{}\" (try: help)", call.args[0]));
    }
    auto text = fmt::format("{} {}\n  {}{}", cmd->name, cmd->usage,
                            cmd->summary,
                            cmd->destructive ? "\n  changes the node: needs "
                                               "--yes in one-shot use"
                                             : "");
    return console_reply::success(std::move(text),
                                  {{"name", cmd->name},
                                   {"usage", cmd->usage},
                                   {"summary", cmd->summary},
                                   {"destructive", cmd->destructive}});
  }
  std::lock_guard<std::mutex> guard{mtx_};
  std::string text;
  auto list = nlohmann::json::array();
  for (const auto& [name, cmd] : commands_) {
    auto synopsis = cmd.usage.empty() ? name : name + " " + cmd.usage;
    // Long synopses get a line of their own.
    text += synopsis.size() > 30 ? fmt::format("{}\n{:<31}", synopsis, "")
                                 : fmt::format("{:<31}", synopsis);
    text += fmt::format("{}{}\n", cmd.summary,
                        cmd.destructive ? " (needs --yes)" : "");
    list.push_back({{"name", name},
                    {"usage", cmd.usage},
                    {"summary", cmd.summary},
                    {"destructive", cmd.destructive}});
  }
  if (!text.empty()) {
    text.pop_back();
  }
  return console_reply::success(std::move(text), {{"commands", list}});
}

} // namespace troupe::actors

// Settings a program built on Troupe adds to its node's configuration.
#include "custom_settings.hpp"

#include "config.hpp"
#include "errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

namespace troupe::runtime {

namespace {

constexpr std::string_view troupe_sections[]
  = {"node", "log", "cluster", "scheduler", "console", "http"};

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool valid_part(std::string_view part) {
  return !part.empty() && part.size() <= 64
         && std::all_of(part.begin(), part.end(), is_key_char);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) {
    return std::nullopt;
  }
  return value;
}

bool single(const std::vector<std::string>& values) {
  return values.size() == 1;
}

caf::error declaration_error(const custom_setting& s, std::string_view why) {
  return caf::make_error(errc::invalid_config,
                         fmt::format("config: the program's setting {:?}: {}",
                                     s.key, why));
}

} // namespace

custom_setting text_setting(std::string key, std::string default_value,
                            std::string help, std::string flag,
                            std::size_t max_bytes) {
  return {
    .key = std::move(key),
    .flag = std::move(flag),
    .expected = fmt::format("a text of 1 to {} bytes", max_bytes),
    .help = std::move(help),
    .default_values = {std::move(default_value)},
    .valid =
      [max_bytes](const std::vector<std::string>& v) {
        return single(v) && !v.front().empty() && v.front().size() <= max_bytes;
      },
  };
}

custom_setting integer_setting(std::string key, std::int64_t default_value,
                               std::int64_t min, std::int64_t max,
                               std::string help, std::string flag) {
  return {
    .key = std::move(key),
    .flag = std::move(flag),
    .expected = fmt::format("a whole number from {} to {}", min, max),
    .help = std::move(help),
    .default_values = {std::to_string(default_value)},
    .valid =
      [min, max](const std::vector<std::string>& v) {
        auto n = single(v) ? parse_int(v.front()) : std::nullopt;
        return n && *n >= min && *n <= max;
      },
  };
}

custom_setting duration_setting(std::string key,
                                std::chrono::milliseconds default_value,
                                std::string help, std::string flag) {
  return {
    .key = std::move(key),
    .flag = std::move(flag),
    .expected = "a duration such as 500ms, 10s, 5m or 1h",
    .help = std::move(help),
    .default_values = {fmt::format("{}ms", default_value.count())},
    .valid =
      [](const std::vector<std::string>& v) {
        return single(v) && static_cast<bool>(parse_duration(v.front()));
      },
  };
}

custom_setting switch_setting(std::string key, std::string help,
                              std::string flag) {
  return {
    .key = std::move(key),
    .flag = std::move(flag),
    .expected = "true or false",
    .help = std::move(help),
    .default_values = {"false"},
    .is_switch = true,
    .valid =
      [](const std::vector<std::string>& v) {
        return single(v) && (v.front() == "true" || v.front() == "false");
      },
  };
}

std::string custom_env_name(std::string_view key) {
  std::string out = "TROUPE_";
  for (char c : key) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(c));
  }
  return out;
}

caf::error check_custom_settings(const std::vector<custom_setting>& settings) {
  std::set<std::string_view> keys;
  std::set<std::string_view> flags;
  std::set<std::string> envs;
  for (const auto& s : settings) {
    auto dot = s.key.find('.');
    auto section = std::string_view{s.key}.substr(0, dot);
    if (dot == std::string::npos || !valid_part(section)
        || !valid_part(std::string_view{s.key}.substr(dot + 1))) {
      return declaration_error(s, "expected a key `section.name` of "
                                  "lower-case letters, digits and '_'");
    }
    if (std::find(std::begin(troupe_sections), std::end(troupe_sections),
                  section)
        != std::end(troupe_sections)) {
      return declaration_error(
        s, fmt::format("the section [{}] is Troupe's own", section));
    }
    if (!keys.insert(s.key).second
        || !envs.insert(custom_env_name(s.key)).second) {
      return declaration_error(s, "declared twice");
    }
    if (!s.flag.empty()) {
      if (s.flag.size() < 3 || s.flag.rfind("--", 0) != 0
          || !flags.insert(s.flag).second) {
        return declaration_error(
          s, fmt::format("flag {:?}: expected a long flag `--name` used once",
                         s.flag));
      }
    }
    if (!s.is_list && s.default_values.size() != 1) {
      return declaration_error(s, "a single-valued setting needs one default");
    }
    if (s.is_switch && s.is_list) {
      return declaration_error(s, "a switch cannot take several values");
    }
    if (s.valid && !s.valid(s.default_values)) {
      return declaration_error(s, "its default fails its own check");
    }
  }
  return {};
}

void custom_values::set(std::string key, std::vector<std::string> values) {
  values_[std::move(key)] = std::move(values);
}

bool custom_values::contains(std::string_view key) const {
  return values_.find(key) != values_.end();
}

const std::vector<std::string>&
custom_values::list(std::string_view key) const {
  auto i = values_.find(key);
  if (i == values_.end()) {
    throw std::out_of_range(
      fmt::format("no setting {:?} was declared by the program", key));
  }
  return i->second;
}

const std::string& custom_values::text(std::string_view key) const {
  const auto& values = list(key);
  if (values.size() != 1) {
    throw std::out_of_range(
      fmt::format("setting {:?} holds {} values, not one", key, values.size()));
  }
  return values.front();
}

std::int64_t custom_values::integer(std::string_view key) const {
  auto n = parse_int(text(key));
  if (!n) {
    throw std::out_of_range(
      fmt::format("setting {:?} is not a whole number", key));
  }
  return *n;
}

bool custom_values::boolean(std::string_view key) const {
  return text(key) == "true";
}

std::chrono::milliseconds custom_values::duration(std::string_view key) const {
  auto d = parse_duration(text(key));
  if (!d) {
    throw std::out_of_range(fmt::format("setting {:?} is not a duration", key));
  }
  return *d;
}

} // namespace troupe::runtime

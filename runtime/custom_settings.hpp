// Settings a program built on Troupe adds to its node's configuration: a TOML
// section of its own, TROUPE_* variables and flags, validated like Troupe's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

namespace troupe::runtime {

/// One setting of a program's own, e.g. `greeter.greeting`. It is read from
/// the same places as Troupe's settings, in the same order: the default, the
/// TOML file (`[greeter]` then `greeting = "…"`), the environment
/// (`TROUPE_GREETER_GREETING`) and the flag, if it has one.
struct custom_setting {
  /// `section.name`: lower-case letters, digits and '_', the section not
  /// one of Troupe's own (`node`, `log`, `cluster`, `scheduler`,
  /// `console`, `http`).
  std::string key;
  /// The flag, e.g. `--greeting`; empty for none.
  std::string flag{};
  /// What a valid value looks like, for `--help` and error messages.
  std::string expected{};
  /// One line for `--help`.
  std::string help{};
  /// The values when nothing sets the setting.
  std::vector<std::string> default_values{};
  /// Takes several values (a TOML array, a comma-separated variable, a
  /// repeated flag).
  bool is_list = false;
  /// A flag without a value: present means `true`.
  bool is_switch = false;
  /// Whether the values are valid; null accepts any.
  std::function<bool(const std::vector<std::string>&)> valid{};
};

/// A text of 1 to `max_bytes` bytes.
custom_setting text_setting(std::string key, std::string default_value,
                            std::string help, std::string flag = {},
                            std::size_t max_bytes = 4096);

/// A whole number from `min` to `max`.
custom_setting integer_setting(std::string key, std::int64_t default_value,
                               std::int64_t min, std::int64_t max,
                               std::string help, std::string flag = {});

/// A duration such as `500ms`, `10s`, `5m` or `1h`.
custom_setting duration_setting(std::string key,
                                std::chrono::milliseconds default_value,
                                std::string help, std::string flag = {});

/// `true` or `false`; with a flag, the flag alone means `true`.
custom_setting switch_setting(std::string key, std::string help,
                              std::string flag = {});

/// The environment variable of `section.name`: `TROUPE_SECTION_NAME`.
std::string custom_env_name(std::string_view key);

/// Checks a program's declarations: valid keys and flags, none twice, no
/// section of Troupe's own, defaults that pass their own check. The error
/// (`errc::invalid_config`) names the setting.
caf::error check_custom_settings(const std::vector<custom_setting>& settings);

/// The validated values of a program's own settings. Asking for a key the
/// program did not declare is a programming error: the accessors throw
/// `std::out_of_range` naming the key.
class custom_values {
public:
  void set(std::string key, std::vector<std::string> values);

  /// Whether `key` was declared.
  bool contains(std::string_view key) const;

  const std::vector<std::string>& list(std::string_view key) const;

  /// The value of a single-valued setting.
  const std::string& text(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::chrono::milliseconds duration(std::string_view key) const;

private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

} // namespace troupe::runtime

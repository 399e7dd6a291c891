// Error codes of the runtime layer, registered with CAF as category "runtime".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace troupe::runtime {

/// What went wrong in the runtime layer.
enum class errc : std::uint8_t {
  /// A configuration value is malformed or out of range; the context names
  /// the key, the value given and what was expected.
  invalid_config = 1,
  /// The configuration file cannot be read or is not valid TOML.
  config_file_unreadable,
  /// The data directory cannot be created, read or written.
  data_dir_unusable,
  /// Another running node already holds the data directory.
  data_dir_locked,
  /// A file in the data directory exists but its contents are invalid.
  corrupt_file,
};

/// Returns the enumerator's name, e.g. `invalid_config`.
std::string to_string(errc code);

/// The atom under which the category is registered.
inline constexpr const char* runtime_error_category = "runtime";

} // namespace troupe::runtime

CAF_ERROR_CODE_ENUM(troupe::runtime::errc, "runtime")

namespace troupe::runtime {

/// Renders an error category's code name followed by its context, e.g.
/// `runtime: data_dir_locked: held by pid 7`; used by the error renderers
/// that every layer registers with CAF.
std::string render_error(std::string_view category, std::string code_name,
                         const caf::message& context);

/// Returns the human-readable text of `err`: its context string if it
/// carries one, otherwise CAF's rendering.
std::string describe(const caf::error& err);

} // namespace troupe::runtime

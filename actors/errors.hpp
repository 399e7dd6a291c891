// Error codes of the actors layer, registered with CAF as category "actors".
#pragma once

#include "../runtime/system_config.hpp"

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace troupe::actors {

/// What went wrong in the actors layer.
enum class errc : std::uint8_t {
  /// A handler threw; the context holds the exception's `what()`.
  exception_thrown = 1,
  /// `init` did not answer within the start timeout.
  init_timeout,
  /// A name is already registered to another live actor.
  name_taken,
  /// No live actor is registered under the name.
  name_not_registered,
  /// A behaviour got a request it has no handler for.
  unexpected_request,
  /// `stop` did not see the actor exit within its timeout.
  stop_timeout,
  /// A console command or line is malformed (bad name, unterminated quote).
  bad_console_input,
  /// OTP's `{shutdown, Term}`: an orderly stop with a detail (the context);
  /// see `shutdown_with`.
  shutdown,
};

/// Returns the enumerator's name, e.g. `name_taken`.
std::string to_string(errc code);

/// Registers the category with a Troupe configuration.
void add_actors_types(runtime::system_config& cfg);

} // namespace troupe::actors

CAF_ERROR_CODE_ENUM(troupe::actors::errc, "actors")

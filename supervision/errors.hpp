// Error codes of the supervision layer, registered as category "supervise".
#pragma once

#include "../runtime/system_config.hpp"

#include <cstdint>
#include <optional>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace troupe::supervision {

/// What went wrong in the supervision layer.
enum class errc : std::uint8_t {
  /// A child spec is invalid; the context names the child and the field.
  invalid_child_spec = 1,
  /// The supervisor flags are invalid; the context names the field.
  invalid_flags,
  /// A child failed to start; the context holds its id and the cause (see
  /// `start_failure_child` and `start_failure_cause`).
  child_start_failed,
  /// Not an exit reason: a supervisor that reaches its restart intensity
  /// exits with `shutdown`, as OTP's (its report says why).
  restart_intensity_reached,
  /// No child has this id.
  no_such_child,
  /// A child with this id already exists.
  already_present,
  /// The child is running (restart_child and delete_child need it stopped).
  child_running,
  /// The operation does not apply to this supervisor's strategy.
  wrong_strategy,
  /// Not an exit reason: a supervisor shut down by significant children
  /// (auto_shutdown) exits with `shutdown`, as OTP's.
  auto_shutdown,
  /// An application spec is invalid; the context names it and the field.
  invalid_application,
  /// No application of this name is loaded.
  no_such_application,
  /// An application of this name is already loaded.
  application_already_loaded,
  /// Applications depend on each other in a cycle; the context shows it.
  dependency_cycle,
  /// An application was started before an application it depends on.
  dependency_not_running,
  /// The application is not running.
  application_not_running,
  /// The application is running (unload needs it stopped).
  application_running,
  /// An application whose exit stops the node exited; the context names it
  /// and its reason. The node stops with this reason.
  application_terminated,
  /// `start_child` with the id of a running child (OTP's
  /// `{already_started, Child}`); the context holds the child's handle.
  already_started,
  /// The child is being restarted (a restart failed and is tried again).
  child_restarting,
};

/// A `child_start_failed` error naming child `id` and the cause (rendered
/// by `sys` into its text).
caf::error start_failure(const caf::actor_system& sys, const std::string& id,
                         caf::error cause);

/// The id of the child in a `child_start_failed` error (empty otherwise).
std::string start_failure_child(const caf::error& err);

/// The cause in a `child_start_failed` error.
std::optional<caf::error> start_failure_cause(const caf::error& err);

/// A reason as OTP shows it (see `actors::otp_reason`); a start failure as
/// `{shutdown,{failed_to_start_child,Id,Cause}}`, what a supervisor that
/// could not start its children exits with.
std::string otp_reason(const caf::actor_system& sys, const caf::error& reason);

std::string to_string(errc code);

/// Registers the category with a Troupe configuration.
void add_supervision_types(runtime::system_config& cfg);

} // namespace troupe::supervision

CAF_ERROR_CODE_ENUM(troupe::supervision::errc, "supervise")

// Error codes of the supervision layer, registered as category "supervise".
#pragma once

#include "runtime/system_config.hpp"

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace troupe::supervision {

/// What went wrong in the supervision layer.
enum class errc : std::uint8_t {
  /// A child spec is invalid; the context names the child and the field.
  invalid_child_spec = 1,
  /// The supervisor flags are invalid; the context names the field.
  invalid_flags,
  /// A child failed to start; the context names it and the cause.
  child_start_failed,
  /// More restarts than the intensity allows within the period: the
  /// supervisor stopped its children and exited with this reason.
  restart_intensity_reached,
  /// No child has this id.
  no_such_child,
  /// A child with this id already exists.
  already_present,
  /// The child is running (restart_child and delete_child need it stopped).
  child_running,
  /// The operation does not apply to this supervisor's strategy.
  wrong_strategy,
  /// A significant child's exit shut the supervisor down (auto_shutdown).
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
};

std::string to_string(errc code);

/// Registers the category with a Troupe configuration.
void add_supervision_types(runtime::system_config& cfg);

} // namespace troupe::supervision

CAF_ERROR_CODE_ENUM(troupe::supervision::errc, "supervise")

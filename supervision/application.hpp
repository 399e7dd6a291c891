// Applications: named top-level supervisors with dependencies and OTP's
// application restart types; the dependency order is a pure function.
#pragma once

#include "child_spec.hpp"

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::supervision {

/// What an application's exit does to the node (OTP's application types).
/// Applications are never restarted; their supervisors restart what is
/// inside them.
enum class app_restart_type {
  /// Any exit of the application stops every other application and the
  /// node.
  permanent,
  /// A normal exit is reported; any other exit stops the node.
  transient,
  /// Any exit is reported and nothing else happens (OTP's default).
  temporary,
};

/// An application: a named top-level supervisor started under the node's
/// root supervisor, after the applications it depends on.
struct application_spec {
  std::string name;
  std::string description{};
  std::string version{};
  /// Applications that must be running before this one starts.
  std::vector<std::string> dependencies{};
  app_restart_type restart = app_restart_type::temporary;
  /// The top supervisor's flags and children.
  supervisor_flags flags{};
  std::vector<child_spec> children{};
  /// Called once the application's tree has stopped, whether it was stopped
  /// or exited by itself (OTP's `stop/1`). Runs on the controller: keep it
  /// short and non-blocking.
  std::function<void(const caf::error& reason)> on_stop{};
};

/// Checks a spec before it is loaded: a non-empty name of letters, digits,
/// `_`, `-` and `.`, no dependency on itself, no duplicate dependency, and
/// valid flags and children. The error is `errc::invalid_application`
/// naming the application and the field.
caf::error validate(const application_spec& spec);

/// Each application's dependencies, by name.
using dependency_graph = std::map<std::string, std::vector<std::string>>;

/// The applications to start, in order, so that `target` starts last and
/// every application starts after its dependencies (depth first, in the
/// order dependencies are listed). Errors: `errc::no_such_application`
/// naming a missing one, `errc::dependency_cycle` naming the cycle.
caf::expected<std::vector<std::string>>
start_order(const dependency_graph& graph, const std::string& target);

std::string to_string(app_restart_type x);

/// Whether an application of type `type` exiting with `reason` (not stopped
/// by request) stops the node.
bool stops_node(app_restart_type type, const caf::error& reason);

} // namespace troupe::supervision

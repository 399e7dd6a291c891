// The application controller: loads, starts and stops a node's
// applications under its root supervisor and applies their restart types.
#pragma once

#include "application.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::supervision {

enum class app_status { loaded, starting, running, stopping };

/// One application as `which_applications` reports it.
struct application_info {
  std::string name;
  std::string description;
  std::string version;
  app_restart_type restart = app_restart_type::temporary;
  app_status status = app_status::loaded;
  caf::actor supervisor; ///< its top supervisor while running
  std::chrono::milliseconds uptime{0};
  /// How it last ended, if it has run before ("" if never).
  std::string last_exit{};
};

std::string to_string(app_status x);

/// What the controller needs from the node it runs on.
struct controller_options {
  /// The supervisor the applications' top supervisors run under.
  caf::actor root;
  /// Called once, from the controller, when an application's exit stops
  /// the node (a permanent one, or a transient one that failed); the error
  /// is `errc::application_terminated`. It must not block: it asks the
  /// node's owner to stop the node.
  std::function<void(const caf::error&)> stop_node;
};

/// Spawns a node's application controller.
caf::actor spawn_application_controller(caf::actor_system& sys,
                                        controller_options opts);

} // namespace troupe::supervision

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::supervision::application_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::supervision::application_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(
  std::vector<troupe::supervision::application_info>)

namespace troupe::supervision {

/// The controller's API for code outside actors (each call blocks until the
/// controller has answered; starts and stops wait for the whole tree).
class application_client {
public:
  application_client(caf::actor_system& sys, caf::actor controller)
    : sys_(&sys), ctl_(std::move(controller)) {}

  /// Makes an application known, after validating its spec.
  caf::error load(application_spec spec);

  /// Forgets a loaded application that is not running.
  caf::error unload(const std::string& name);

  /// Starts a loaded application; its dependencies must be running
  /// (`errc::dependency_not_running` names the first that is not).
  caf::error start(const std::string& name);

  /// Starts an application after every dependency it needs, in dependency
  /// order; returns the names it started (running ones are skipped).
  caf::expected<std::vector<std::string>>
  ensure_all_started(const std::string& name);

  /// Stops a running application's tree (in reverse order) and calls its
  /// `on_stop`. A stop by request never stops the node, whatever its type.
  caf::error stop(const std::string& name);

  /// Stops every running application in reverse start order.
  caf::error stop_all();

  caf::expected<std::vector<application_info>> which_applications();

private:
  caf::actor_system* sys_;
  caf::actor ctl_;
};

} // namespace troupe::supervision

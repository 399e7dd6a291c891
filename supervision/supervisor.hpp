// Supervisors with OTP's semantics: ordered start, reverse-order shutdown,
// restart strategies, restart intensity and escalation, dynamic children.
#pragma once

#include "../actors/gen_server.hpp"
#include "child_spec.hpp"
#include "errors.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

namespace troupe::supervision {

/// One child as `which_children` and `tree` report it.
struct child_info {
  std::string id;
  caf::actor handle; ///< not valid while the child is not running
  child_type type = child_type::worker;
  restart_type restart = restart_type::permanent;
  std::uint32_t restarts = 0;
  bool running = false;
  std::chrono::milliseconds uptime{0};
  std::vector<child_info> children{}; ///< filled by `tree` for supervisors
  /// A restart failed and is tried again (OTP's `restarting`).
  bool restarting = false;
};

/// OTP's count_children.
struct child_counts {
  std::size_t specs = 0;
  std::size_t active = 0;
  std::size_t supervisors = 0;
  std::size_t workers = 0;
};

} // namespace troupe::supervision

// Specs and reports carry functions and handles: they stay on one node.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::supervision::child_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::supervision::child_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<troupe::supervision::child_info>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::supervision::child_counts)

namespace troupe::supervision {

/// Spawns a supervisor that starts its children when it gets
/// `actors::init_atom` (what a parent supervisor sends). Invalid flags or
/// specs are an error before anything is spawned.
caf::expected<caf::actor>
spawn_supervisor(caf::actor_system& sys, supervisor_flags flags,
                 std::vector<child_spec> specs,
                 const actors::start_options& opts = {});

/// Starts a supervisor and returns once all its children have started (in
/// order); if one fails, those started are stopped in reverse order and the
/// error names the child. Blocks: for use outside actors.
caf::expected<caf::actor>
start_supervisor(caf::actor_system& sys, supervisor_flags flags,
                 std::vector<child_spec> specs,
                 const actors::start_options& opts = {});

/// A child spec for a nested supervisor.
child_spec supervisor_child(std::string id, supervisor_flags flags,
                            std::vector<child_spec> specs);

/// A child spec for a generic server started with `args`.
template <class Server, class... Args>
child_spec server_child(std::string id, Args... args) {
  child_spec spec;
  spec.id = std::move(id);
  spec.init_handshake = true;
  spec.start = [args...](caf::actor_system& sys, const caf::actor& parent,
                         const caf::message&) {
    return actors::spawn_server<Server>(sys, {.parent = parent}, args...);
  };
  return spec;
}

} // namespace troupe::supervision

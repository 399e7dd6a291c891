// Asking a running actor what it is: behaviour, mailbox size and status,
// answered by every Troupe behaviour (OTP's sys:get_status, in small).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace troupe::actors {

/// The probe request; the reply is `(probe_atom, behaviour, mailbox size,
/// status)` with `std::string`, `std::uint64_t`, `std::string`.
using probe_atom = caf::atom_constant<caf::atom("tr_probe")>;

/// If `msg` is a probe, the reply to it (the mailbox size is read by `self`
/// itself, the only thread allowed to); otherwise nullopt. Default
/// handlers call this first.
std::optional<caf::message>
answer_probe(caf::scheduled_actor* self, const caf::message& msg,
             std::string_view behaviour, std::string_view status = {});

/// What a probed actor said about itself.
struct actor_probe {
  caf::actor handle;
  /// False if the actor did not answer in time (busy, or not a Troupe
  /// behaviour); the other fields are then empty.
  bool answered = false;
  std::string behaviour;
  std::uint64_t mailbox = 0;
  std::string status;
};

/// Probes `actors` concurrently from a blocking context and waits at most
/// `timeout` for all answers. Results are in the order of `actors`.
std::vector<actor_probe> probe_actors(caf::actor_system& sys,
                                      const std::vector<caf::actor>& actors,
                                      std::chrono::milliseconds timeout);

} // namespace troupe::actors

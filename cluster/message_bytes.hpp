// CAF messages as bytes, for messages routed to other nodes: CAF's own
// serialization, so every element type must be known to both actor
// systems (CAF's built-in types are).
#pragma once

#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

namespace troupe::cluster {

/// The message's bytes; `errc::serialization_failed` if an element cannot
/// be serialized.
caf::expected<std::string> to_bytes(caf::actor_system& sys,
                                    const caf::message& msg);

/// The message from bytes made by `to_bytes`; anything else (truncated,
/// trailing bytes, unknown types) is `errc::serialization_failed`, never a
/// crash.
caf::expected<caf::message> from_bytes(caf::actor_system& sys,
                                       const std::string& bytes);

} // namespace troupe::cluster

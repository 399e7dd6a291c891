// Crash reports of behaviours: to the node's log and its crash-report log.
#pragma once

#include "exit_reason.hpp"

#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/scheduled_actor.hpp>

namespace troupe::actors {

/// What a behaviour knows about its crash.
struct crash_facts {
  std::string_view behaviour;    ///< e.g. `gen_server`, `gen_event handler`
  std::string_view name;         ///< registered name or handler id, or empty
  std::string_view last_message; ///< the message being handled, rendered
  std::string_view status;       ///< `format_status` output
};

/// Writes a report for `self` (actor id, node) with `facts` and `reason` to
/// the `<node>.actors.crash` logger and to the node's crash-report log, if
/// the system was built from a Troupe configuration that has them.
void report_crash(caf::local_actor* self, const crash_facts& facts,
                  const caf::error& reason);

/// Logs (warn, `event=msg.unexpected`) a message a behaviour had no use for.
void log_unexpected(caf::local_actor* self, std::string_view behaviour,
                    std::string_view name, const caf::message& msg);

/// A default handler for an actor of `behaviour`: logs whatever it had no
/// use for (`log_unexpected`) and answers `sec::unexpected_message`.
caf::scheduled_actor::default_handler
unexpected_message_handler(std::string behaviour);

/// Renders the message `self` is handling now, or empty.
std::string current_message_text(caf::local_actor* self);

/// Turns an exception into an `errc::exception_thrown` error carrying its
/// `what()`.
caf::error exception_to_error(const std::exception_ptr& eptr);

} // namespace troupe::actors

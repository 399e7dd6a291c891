// Supervisor reports, as OTP's: what a supervisor says about a child that
// terminated unexpectedly, failed to start or to shut down, or made it give
// up.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace troupe::supervision {

/// OTP's error contexts of a supervisor report.
enum class report_context {
  /// A child exited and the supervisor restarts it (or, temporary, forgets
  /// it): every exit of a permanent child, abnormal exits of the others.
  child_terminated,
  /// A child failed to start (at the supervisor's start or a restart).
  start_error,
  /// A child being shut down exited with another reason than the one
  /// asked for (`shutdown`, or `killed` after `brutal_kill`).
  shutdown_error,
  /// The supervisor gives up: `reached_max_restart_intensity`.
  shutdown,
};

std::string to_string(report_context x);

/// What a report is about.
struct report_facts {
  report_context context = report_context::child_terminated;
  /// The child's id (for several children of a simple_one_for_one
  /// supervisor: the template's id, `*` and their number).
  std::string offender;
  /// The child's actor id, 0 if it is not running (or for several).
  std::uint64_t offender_actor = 0;
  /// The reason as OTP shows it (see `actors::otp_reason`).
  std::string reason;
};

/// Writes a supervisor report of `self` (named `name`, or unnamed) to the
/// node's log (`error`, `event=sup.report`) and crash-report log, when the
/// actor system was built from a Troupe configuration that has them.
void report(caf::local_actor* self, std::string_view name,
            const report_facts& facts);

} // namespace troupe::supervision

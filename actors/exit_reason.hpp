// OTP's exit reasons on CAF: normal, shutdown, {shutdown, Term}, killed and
// the rest (crashes), and how they are shown.
#pragma once

#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace troupe::actors {

/// OTP's `{shutdown, Term}`: an orderly stop that carries a detail (not a
/// crash: no crash report, a transient child is not restarted). `detail`
/// is shown as the term.
caf::error shutdown_with(std::string detail);

/// Whether `reason` is `shutdown` or `{shutdown, Term}`.
bool is_shutdown(const caf::error& reason);

/// Whether OTP would report `reason` as a crash: anything but normal,
/// shutdown and `{shutdown, Term}`.
bool is_abnormal(const caf::error& reason);

/// The reason as OTP shows it: `normal`, `shutdown`, `{shutdown,Term}`,
/// `killed`, or the rendered error for anything else.
std::string otp_reason(const caf::actor_system& sys, const caf::error& reason);

} // namespace troupe::actors

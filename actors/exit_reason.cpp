// OTP's exit reasons on CAF.
#include "exit_reason.hpp"

#include "errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>

namespace troupe::actors {

caf::error shutdown_with(std::string detail) {
  return caf::make_error(errc::shutdown, std::move(detail));
}

bool is_shutdown(const caf::error& reason) {
  return reason == caf::exit_reason::user_shutdown || reason == errc::shutdown;
}

bool is_abnormal(const caf::error& reason) {
  return reason && reason != caf::exit_reason::normal && !is_shutdown(reason);
}

std::string otp_reason(const caf::actor_system& sys, const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal) {
    return "normal";
  }
  if (reason == caf::exit_reason::user_shutdown) {
    return "shutdown";
  }
  if (reason == caf::exit_reason::kill) {
    return "killed";
  }
  if (reason == errc::shutdown) {
    const auto& ctx = reason.context();
    auto term = ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                                  : caf::to_string(ctx);
    return "{shutdown," + term + "}";
  }
  return sys.render(reason);
}

} // namespace troupe::actors

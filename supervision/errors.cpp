// Error codes of the supervision layer.
#include "errors.hpp"

#include "../actors/errors.hpp"
#include "../actors/exit_reason.hpp"
#include "../runtime/errors.hpp"

#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <fmt/format.h>

namespace troupe::supervision {

std::string to_string(errc code) {
  switch (code) {
    case errc::invalid_child_spec:
      return "invalid_child_spec";
    case errc::invalid_flags:
      return "invalid_flags";
    case errc::child_start_failed:
      return "child_start_failed";
    case errc::restart_intensity_reached:
      return "restart_intensity_reached";
    case errc::no_such_child:
      return "no_such_child";
    case errc::already_present:
      return "already_present";
    case errc::child_running:
      return "child_running";
    case errc::wrong_strategy:
      return "wrong_strategy";
    case errc::auto_shutdown:
      return "auto_shutdown";
    case errc::invalid_application:
      return "invalid_application";
    case errc::no_such_application:
      return "no_such_application";
    case errc::application_already_loaded:
      return "application_already_loaded";
    case errc::dependency_cycle:
      return "dependency_cycle";
    case errc::dependency_not_running:
      return "dependency_not_running";
    case errc::application_not_running:
      return "application_not_running";
    case errc::application_running:
      return "application_running";
    case errc::application_terminated:
      return "application_terminated";
    case errc::already_started:
      return "already_started";
    case errc::child_restarting:
      return "child_restarting";
  }
  return "errc(" + std::to_string(static_cast<int>(code)) + ")";
}

caf::error start_failure(const caf::actor_system& sys, const std::string& id,
                         caf::error cause) {
  auto text = fmt::format("child {:?}: {}", id, sys.render(cause));
  return caf::make_error(errc::child_start_failed, std::move(text), id,
                         std::move(cause));
}

std::string start_failure_child(const caf::error& err) {
  const auto& ctx = err.context();
  if (err == errc::child_start_failed
      && ctx.match_elements<std::string, std::string, caf::error>()) {
    return ctx.get_as<std::string>(1);
  }
  return {};
}

std::optional<caf::error> start_failure_cause(const caf::error& err) {
  const auto& ctx = err.context();
  if (err == errc::child_start_failed
      && ctx.match_elements<std::string, std::string, caf::error>()) {
    return ctx.get_as<caf::error>(2);
  }
  return std::nullopt;
}

std::string otp_reason(const caf::actor_system& sys, const caf::error& reason) {
  if (auto cause = start_failure_cause(reason)) {
    return fmt::format("{{shutdown,{{failed_to_start_child,{},{}}}}}",
                       start_failure_child(reason), otp_reason(sys, *cause));
  }
  return actors::otp_reason(sys, reason);
}

void add_supervision_types(runtime::system_config& cfg) {
  actors::add_actors_types(cfg);
  cfg.add_error_category(caf::atom("supervise"), [](std::uint8_t code,
                                                    caf::atom_value,
                                                    const caf::message& ctx) {
    // A start failure renders as its text (the id and cause follow it for
    // code that needs them).
    if (!ctx.empty() && ctx.match_element<std::string>(0)) {
      return runtime::render_error(
        "supervise", to_string(static_cast<errc>(code)),
        caf::make_message(ctx.get_as<std::string>(0)));
    }
    return runtime::render_error("supervise",
                                 to_string(static_cast<errc>(code)), ctx);
  });
}

} // namespace troupe::supervision

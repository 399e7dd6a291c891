// The generic server behaviour: the parts that do not depend on the server.
#include "actors/gen_server.hpp"

#include "runtime/crash_log.hpp"
#include "runtime/system_config.hpp"

#include <caf/exit_reason.hpp>

#include <exception>

namespace troupe::actors::detail {

void server_base::report_crash(const std::string& last_message,
                               const std::string& status,
                               const caf::error& reason) const {
  const auto* cfg = runtime::troupe_config(self->system());
  runtime::crash_report report{
    .time = {},
    .node = cfg != nullptr && cfg->logs ? cfg->logs->node() : std::string{},
    .actor_id = self->id(),
    .name = name,
    .behaviour = "gen_server",
    .last_message = last_message,
    .status = status,
    .reason = self->system().render(reason),
  };
  if (cfg != nullptr && cfg->logs) {
    cfg->logs->get("actors", "crash")
      ->error("event=actor.crash behaviour=gen_server actor_id={} name={} "
              "reason=\"{}\" last_message=\"{}\" status=\"{}\"",
              report.actor_id, name.empty() ? "-" : name, report.reason,
              last_message, status);
  }
  if (cfg != nullptr && cfg->crashes) {
    cfg->crashes->write(std::move(report));
  }
}

void server_base::log_unexpected(const caf::message& msg) const {
  const auto* cfg = runtime::troupe_config(self->system());
  if (cfg != nullptr && cfg->logs) {
    cfg->logs->get("actors", "gen_server")
      ->warn("event=msg.unexpected actor_id={} name={} message=\"{}\"",
             self->id(), name.empty() ? "-" : name, caf::to_string(msg));
  }
}

bool server_base::is_abnormal(const caf::error& reason) {
  return reason && reason != caf::exit_reason::user_shutdown
         && reason != caf::exit_reason::normal;
}

caf::error server_base::to_error(const std::exception_ptr& eptr) {
  try {
    std::rethrow_exception(eptr);
  } catch (const std::exception& ex) {
    return caf::make_error(errc::exception_thrown, std::string{ex.what()});
  } catch (...) {
    return caf::make_error(errc::exception_thrown,
                           std::string{"an exception not derived from "
                                       "std::exception"});
  }
}

} // namespace troupe::actors::detail

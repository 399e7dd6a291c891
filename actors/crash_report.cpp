// Crash reports of behaviours: to the node's log and its crash-report log.
#include "crash_report.hpp"

#include "../runtime/crash_log.hpp"
#include "../runtime/system_config.hpp"
#include "errors.hpp"
#include "introspection.hpp"

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>

#include <exception>

namespace troupe::actors {

void report_crash(caf::local_actor* self, const crash_facts& facts,
                  const caf::error& reason) {
  const auto* cfg = runtime::troupe_config(self->system());
  runtime::crash_report report{
    .time = {},
    .node = cfg != nullptr && cfg->logs ? cfg->logs->node() : std::string{},
    .actor_id = self->id(),
    .name = std::string{facts.name},
    .behaviour = std::string{facts.behaviour},
    .last_message = std::string{facts.last_message},
    .status = std::string{facts.status},
    .reason = self->system().render(reason),
  };
  if (cfg != nullptr && cfg->logs) {
    cfg->logs->get("actors", "crash")
      ->error("event=actor.crash behaviour=\"{}\" actor_id={} name={} "
              "reason=\"{}\" last_message=\"{}\" status=\"{}\"",
              facts.behaviour, report.actor_id,
              facts.name.empty() ? "-" : facts.name, report.reason,
              facts.last_message, facts.status);
  }
  if (cfg != nullptr && cfg->crashes) {
    cfg->crashes->write(std::move(report));
  }
}

void log_unexpected(caf::local_actor* self, std::string_view behaviour,
                    std::string_view name, const caf::message& msg) {
  const auto* cfg = runtime::troupe_config(self->system());
  if (cfg != nullptr && cfg->logs) {
    cfg->logs->get("actors", behaviour)
      ->warn("event=msg.unexpected actor_id={} name={} message=\"{}\"",
             self->id(), name.empty() ? "-" : name, caf::to_string(msg));
  }
}

caf::scheduled_actor::default_handler
unexpected_message_handler(std::string behaviour) {
  return [behaviour = std::move(behaviour)](
           caf::scheduled_actor* self,
           caf::message_view& xs) -> caf::result<caf::message> {
    auto msg = xs.copy_content_to_message();
    if (auto reply = answer_probe(self, msg, behaviour)) {
      return std::move(*reply);
    }
    log_unexpected(self, behaviour, "", msg);
    return caf::sec::unexpected_message;
  };
}

std::string current_message_text(caf::local_actor* self) {
  auto* elem = self->current_mailbox_element();
  return elem == nullptr ? std::string{} : caf::to_string(elem->content());
}

caf::error exception_to_error(const std::exception_ptr& eptr) {
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

} // namespace troupe::actors

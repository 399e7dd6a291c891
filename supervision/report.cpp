// Supervisor reports.
#include "report.hpp"

#include "../runtime/crash_log.hpp"
#include "../runtime/system_config.hpp"

#include <caf/actor_system.hpp>
#include <caf/local_actor.hpp>

namespace troupe::supervision {

std::string to_string(report_context x) {
  switch (x) {
    case report_context::child_terminated:
      return "child_terminated";
    case report_context::start_error:
      return "start_error";
    case report_context::shutdown_error:
      return "shutdown_error";
    case report_context::shutdown:
      return "shutdown";
  }
  return "report_context(?)";
}

void report(caf::local_actor* self, std::string_view name,
            const report_facts& facts) {
  const auto* cfg = runtime::troupe_config(self->system());
  if (cfg == nullptr) {
    return;
  }
  auto context = to_string(facts.context);
  if (cfg->logs) {
    cfg->logs->get("supervision", "supervisor")
      ->error("event=sup.report context={} supervisor={} actor_id={} "
              "child={} reason=\"{}\"",
              context, name.empty() ? "-" : name, self->id(), facts.offender,
              facts.reason);
  }
  if (cfg->crashes) {
    cfg->crashes->write({.time = {},
                         .node = cfg->logs ? cfg->logs->node() : std::string{},
                         .actor_id = self->id(),
                         .name = std::string{name},
                         .behaviour = "supervisor",
                         .last_message = {},
                         .status = {},
                         .reason = facts.reason,
                         .kind = "supervisor",
                         .context = std::move(context),
                         .offender = facts.offender,
                         .offender_actor = facts.offender_actor});
  }
}

} // namespace troupe::supervision

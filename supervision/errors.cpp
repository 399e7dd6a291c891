// Error codes of the supervision layer.
#include "supervision/errors.hpp"

#include "actors/errors.hpp"
#include "runtime/errors.hpp"

#include <caf/atom.hpp>

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
  }
  return "errc(" + std::to_string(static_cast<int>(code)) + ")";
}

void add_supervision_types(runtime::system_config& cfg) {
  actors::add_actors_types(cfg);
  cfg.add_error_category(caf::atom("supervise"), [](std::uint8_t code,
                                                    caf::atom_value,
                                                    const caf::message& ctx) {
    return runtime::render_error("supervise",
                                 to_string(static_cast<errc>(code)), ctx);
  });
}

} // namespace troupe::supervision

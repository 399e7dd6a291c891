// Error codes of the actors layer.
#include "errors.hpp"

#include "../runtime/errors.hpp"

#include <caf/atom.hpp>

namespace troupe::actors {

std::string to_string(errc code) {
  switch (code) {
    case errc::exception_thrown:
      return "exception_thrown";
    case errc::init_timeout:
      return "init_timeout";
    case errc::name_taken:
      return "name_taken";
    case errc::name_not_registered:
      return "name_not_registered";
    case errc::unexpected_request:
      return "unexpected_request";
    case errc::stop_timeout:
      return "stop_timeout";
    case errc::bad_console_input:
      return "bad_console_input";
    case errc::shutdown:
      return "shutdown";
  }
  return "errc(" + std::to_string(static_cast<int>(code)) + ")";
}

void add_actors_types(runtime::system_config& cfg) {
  cfg.add_error_category(caf::atom("actors"), [](std::uint8_t code,
                                                 caf::atom_value,
                                                 const caf::message& ctx) {
    return runtime::render_error("actors", to_string(static_cast<errc>(code)),
                                 ctx);
  });
}

} // namespace troupe::actors

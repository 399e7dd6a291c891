// Error codes of the cluster layer.
#include "errors.hpp"

#include "../runtime/errors.hpp"
#include "../supervision/errors.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>

namespace troupe::cluster {

std::string to_string(errc code) {
  switch (code) {
    case errc::malformed_frame:
      return "malformed_frame";
    case errc::oversized_frame:
      return "oversized_frame";
    case errc::unsupported_protocol:
      return "unsupported_protocol";
    case errc::authentication_failed:
      return "authentication_failed";
    case errc::protocol_violation:
      return "protocol_violation";
    case errc::corrupt_state:
      return "corrupt_state";
    case errc::peer_unreachable:
      return "peer_unreachable";
    case errc::no_such_member:
      return "no_such_member";
    case errc::invalid_settings:
      return "invalid_settings";
    case errc::invalid_name:
      return "invalid_name";
    case errc::no_route:
      return "no_route";
    case errc::too_many_hops:
      return "too_many_hops";
    case errc::serialization_failed:
      return "serialization_failed";
    case errc::no_quorum:
      return "no_quorum";
    case errc::peer_busy:
      return "peer_busy";
  }
  return "errc(" + std::to_string(static_cast<int>(code)) + ")";
}

caf::error no_quorum_error(const std::string& name) {
  return caf::make_error(errc::no_quorum,
                         name
                           + " is not served on this side of a partition: "
                             "it has no quorum (cluster.split_brain)");
}

void add_cluster_types(runtime::system_config& cfg) {
  supervision::add_supervision_types(cfg);
  cfg.add_error_category(caf::atom("cluster"), [](std::uint8_t code,
                                                  caf::atom_value,
                                                  const caf::message& ctx) {
    return runtime::render_error("cluster", to_string(static_cast<errc>(code)),
                                 ctx);
  });
}

} // namespace troupe::cluster

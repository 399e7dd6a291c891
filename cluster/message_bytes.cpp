// CAF messages as bytes, for messages routed to other nodes.
#include "message_bytes.hpp"

#include "errors.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <exception>
#include <vector>

namespace troupe::cluster {

caf::expected<std::string> to_bytes(caf::actor_system& sys,
                                    const caf::message& msg) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(const_cast<caf::message&>(msg))) {
    return caf::make_error(errc::serialization_failed,
                           "message: " + sys.render(err));
  }
  return std::string{buf.begin(), buf.end()};
}

caf::expected<caf::message> from_bytes(caf::actor_system& sys,
                                       const std::string& bytes) {
  caf::message msg;
  try {
    caf::binary_deserializer source{sys, bytes.data(), bytes.size()};
    if (auto err = source(msg)) {
      return caf::make_error(errc::serialization_failed,
                             "message: " + sys.render(err));
    }
    if (source.remaining() != 0) {
      return caf::make_error(errc::serialization_failed,
                             "trailing bytes after the message");
    }
  } catch (const std::exception& e) {
    return caf::make_error(errc::serialization_failed,
                           std::string{"message: "} + e.what());
  }
  return msg;
}

} // namespace troupe::cluster

// Names of virtual actors.
#include "virtual_actor.hpp"

#include "wire/route.hpp"

namespace troupe::cluster {

std::string_view kind_of_name(std::string_view name) {
  auto slash = name.find('/');
  return slash == std::string_view::npos ? std::string_view{}
                                         : name.substr(0, slash);
}

bool is_routable_name(std::string_view name) {
  auto slash = name.find('/');
  return slash != std::string_view::npos && slash > 0 && slash + 1 < name.size()
         && name.size() <= wire::max_name_bytes
         && name.find('\0') == std::string_view::npos;
}

} // namespace troupe::cluster

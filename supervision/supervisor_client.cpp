// The supervisor's dynamic API for code outside actors.
#include "supervisor_client.hpp"

#include "../actors/blocking_request.hpp"
#include "../actors/caller.hpp"
#include "atoms.hpp"

#include <algorithm>

namespace troupe::supervision {

caf::expected<caf::actor> supervisor_client::start_child(child_spec spec) {
  return actors::request_blocking<caf::actor>(
    *sys_, sup_, start_child_atom::value, std::move(spec));
}

caf::expected<caf::actor> supervisor_client::start_child(caf::message args) {
  return actors::request_blocking<caf::actor>(
    *sys_, sup_, start_child_atom::value, std::move(args));
}

caf::error supervisor_client::terminate_child(const std::string& id) {
  return actors::request_done(*sys_, sup_, terminate_child_atom::value, id);
}

caf::expected<caf::actor>
supervisor_client::restart_child(const std::string& id) {
  return actors::request_blocking<caf::actor>(*sys_, sup_,
                                              restart_child_atom::value, id);
}

caf::error supervisor_client::delete_child(const std::string& id) {
  return actors::request_done(*sys_, sup_, delete_child_atom::value, id);
}

caf::expected<std::vector<child_info>> supervisor_client::which_children() {
  return actors::request_within<std::vector<child_info>>(
    *sys_, sup_, query_duration(), which_children_atom::value);
}

caf::expected<child_counts> supervisor_client::count_children() {
  return actors::request_within<child_counts>(*sys_, sup_, query_duration(),
                                              count_children_atom::value);
}

caf::duration supervisor_client::query_duration() const {
  return query_timeout_ ? caf::duration{*query_timeout_}
                        : caf::duration{caf::infinite};
}

caf::expected<std::vector<child_info>> supervisor_client::tree() {
  auto children = which_children();
  if (!children) {
    return children;
  }
  // which_children answers as OTP's (the last started first); the tree
  // reads in start order.
  std::reverse(children->begin(), children->end());
  for (auto& c : *children) {
    if (c.type == child_type::supervisor && c.running) {
      supervisor_client nested{*sys_, c.handle};
      nested.query_timeout_ = query_timeout_;
      if (auto sub = nested.tree()) {
        c.children = std::move(*sub);
      }
    }
  }
  return children;
}

caf::error supervisor_client::stop(caf::error reason) {
  actors::caller c{*sys_};
  return c.stop(sup_, std::move(reason), std::chrono::hours{24});
}

} // namespace troupe::supervision

// The supervisor's dynamic API for code outside actors.
#include "supervision/supervisor_client.hpp"

#include "actors/caller.hpp"
#include "supervision/atoms.hpp"

#include <caf/scoped_actor.hpp>

namespace troupe::supervision {

template <class Result, class... Ts>
caf::expected<Result> supervisor_client::ask(Ts&&... xs) {
  caf::scoped_actor self{*sys_};
  caf::expected<Result> out{caf::error{}};
  self->request(sup_, caf::infinite, std::forward<Ts>(xs)...)
    .receive([&out](Result& r) { out = std::move(r); },
             [&out](caf::error& err) { out = std::move(err); });
  return out;
}

template <class... Ts>
caf::error supervisor_client::ask_done(Ts&&... xs) {
  caf::scoped_actor self{*sys_};
  caf::error result;
  self->request(sup_, caf::infinite, std::forward<Ts>(xs)...)
    .receive([] {}, [&result](caf::error& err) { result = std::move(err); });
  return result;
}

caf::expected<caf::actor> supervisor_client::start_child(child_spec spec) {
  return ask<caf::actor>(start_child_atom::value, std::move(spec));
}

caf::expected<caf::actor> supervisor_client::start_child(caf::message args) {
  return ask<caf::actor>(start_child_atom::value, std::move(args));
}

caf::error supervisor_client::terminate_child(const std::string& id) {
  return ask_done(terminate_child_atom::value, id);
}

caf::expected<caf::actor>
supervisor_client::restart_child(const std::string& id) {
  return ask<caf::actor>(restart_child_atom::value, id);
}

caf::error supervisor_client::delete_child(const std::string& id) {
  return ask_done(delete_child_atom::value, id);
}

caf::expected<std::vector<child_info>> supervisor_client::which_children() {
  return ask<std::vector<child_info>>(which_children_atom::value);
}

caf::expected<child_counts> supervisor_client::count_children() {
  return ask<child_counts>(count_children_atom::value);
}

caf::expected<std::vector<child_info>> supervisor_client::tree() {
  auto children = which_children();
  if (!children) {
    return children;
  }
  for (auto& c : *children) {
    if (c.type == child_type::supervisor && c.running) {
      supervisor_client nested{*sys_, c.handle};
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

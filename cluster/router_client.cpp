// Sending to virtual actors by name from outside the router.
#include "router_client.hpp"

#include "../actors/blocking_request.hpp"
#include "atoms.hpp"
#include "errors.hpp"
#include "message_bytes.hpp"
#include "name_table.hpp"
#include "transport.hpp"

#include <caf/duration.hpp>
#include <caf/others.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <chrono>

namespace troupe::cluster {

namespace {

/// How long the router's queries (`transfers`, `stats`) may take.
constexpr auto query_timeout = std::chrono::seconds{5};

} // namespace

void router_client::register_kind(actor_kind kind) {
  ctx_->kinds->add(std::move(kind));
}

caf::error router_client::send(const std::string& name, caf::message msg) {
  if (!is_routable_name(name)) {
    return caf::make_error(errc::invalid_name,
                           "expected kind/key, got \"" + name + "\"");
  }
  auto view = ctx_->routing();
  if (!view || view->current.empty()) {
    return caf::make_error(errc::no_route, "no ring yet");
  }
  if (!view->quorum) {
    return no_quorum_error(name);
  }
  auto p = view->current.partition_of_name(name);
  const auto& to = view->target(p);
  if (to.empty()) {
    return caf::make_error(errc::no_route, "no node available for " + name);
  }
  auto slot = context::diverted_slot(name);
  if (ctx_->is_diverted(slot)) {
    // An earlier send for these names waits in the router: after it.
    divert(slot, name, std::move(msg));
    return {};
  }
  if (to == ctx_->node_id) {
    // The fast path: straight into the actor's mailbox when it runs.
    delivery d{.name = name, .msg = std::move(msg)};
    switch (ctx_->names->deliver(p, std::move(d))) {
      case delivery_outcome::delivered:
      case delivery_outcome::buffered:
        return {};
      case delivery_outcome::activate:
        caf::anon_send(ctx_->router(), activate_atom::value, name);
        return {};
      case delivery_outcome::not_here:
        // Moved by a handoff since the view was read: the router knows.
        break;
    }
    divert(slot, name, std::move(d.msg));
    return {};
  }
  auto bytes = to_bytes(*sys_, msg);
  if (!bytes) {
    return std::move(bytes.error());
  }
  if (!send_frame(*ctx_, to,
                  wire::frame{wire::route{
                    wire::routed{.name = name,
                                 .message = std::move(*bytes),
                                 .epoch = view->current.epoch()}}})) {
    // Not connected (the view is about to change): the router decides.
    divert(slot, name, std::move(msg));
  }
  return {};
}

void router_client::divert(std::size_t slot, const std::string& name,
                           caf::message msg) {
  ctx_->diverted[slot].fetch_add(1, std::memory_order_acq_rel);
  caf::anon_send(ctx_->router(), route_send_atom::value, name, std::move(msg));
}

caf::expected<caf::message>
router_client::request(const std::string& name, caf::message msg,
                       std::chrono::milliseconds timeout) {
  if (!is_routable_name(name)) {
    return caf::make_error(errc::invalid_name,
                           "expected kind/key, got \"" + name + "\"");
  }
  auto router = ctx_->router();
  if (!router) {
    return caf::make_error(errc::no_route, "the router is not running");
  }
  caf::scoped_actor self{*sys_};
  caf::expected<caf::message> result{caf::message{}};
  self->request(router, timeout, route_req_atom::value, name, std::move(msg))
    .receive([&result](caf::error& err) { result = std::move(err); },
             caf::others >>
               [&result](caf::message_view& x) -> caf::result<caf::message> {
               result = x.move_content_to_message();
               return caf::message{};
             });
  return result;
}

caf::expected<std::string>
router_client::owner_of(const std::string& name) const {
  auto view = ctx_->routing();
  if (!view || view->current.empty()) {
    return caf::make_error(errc::no_route, "no ring yet");
  }
  return view->target(view->current.partition_of_name(name));
}

caf::expected<std::vector<transfer_view>> router_client::transfers() {
  return actors::request_within<std::vector<transfer_view>>(
    *sys_, ctx_->router(), caf::duration{query_timeout}, transfers_atom::value);
}

caf::expected<routing_stats> router_client::stats() {
  return actors::request_within<routing_stats>(
    *sys_, ctx_->router(), caf::duration{query_timeout}, stats_atom::value);
}

} // namespace troupe::cluster

// The API that sends to virtual actors by name from anywhere in the
// cluster.
#pragma once

#include "name_table.hpp"
#include "router.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/message.hpp>

namespace troupe::cluster {

/// Sends by name from code outside actors (any thread) or inside them.
class router_client {
public:
  router_client(caf::actor_system& sys, context_ptr ctx)
    : sys_(&sys), ctx_(std::move(ctx)) {}

  /// Makes names `kind.kind/...` start with `kind.start` on this node.
  void register_kind(actor_kind kind);

  /// Sends `msg` to the actor named `name` (`kind/key`), wherever the ring
  /// puts it. Messages from one sender to one name keep their order.
  /// Errors: a name that is not `kind/key`, no ring yet, or no node
  /// available; a message that cannot be serialized for another node.
  caf::error send(const std::string& name, caf::message msg);

  template <class... Ts>
  caf::error send(const std::string& name, Ts&&... xs) {
    // A running local activation gets the values in one mailbox element,
    // as a direct send would.
    auto make = [&xs...] {
      return caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                       xs...);
    };
    if (send_to_running(name, make)) {
      return {};
    }
    return send(name, caf::make_message(std::forward<Ts>(xs)...));
  }

  /// Sends `msg` and waits for the reply (blocks; for use outside actors).
  caf::expected<caf::message>
  request(const std::string& name, caf::message msg,
          std::chrono::milliseconds timeout = std::chrono::seconds{5});

  /// The node that would get a message for `name` now (empty: none).
  caf::expected<std::string> owner_of(const std::string& name) const;

  /// Transfers in progress on this node.
  caf::expected<std::vector<transfer_view>> transfers();
  caf::expected<routing_stats> stats();

private:
  template <class F>
  bool send_to_running(const std::string& name, F& make) {
    const auto& view = ctx_->routing();
    if (!view || view->current.empty()) {
      return false;
    }
    auto p = view->current.partition_of_name(name);
    return view->target(p) == ctx_->node_id
           && !ctx_->is_diverted(context::diverted_slot(name))
           && ctx_->names->enqueue_if_running(p, name, make);
  }

  // Passes a send to the router, counted in `context::diverted`.
  void divert(std::size_t slot, const std::string& name, caf::message msg);

  caf::actor_system* sys_;
  context_ptr ctx_;
};

} // namespace troupe::cluster

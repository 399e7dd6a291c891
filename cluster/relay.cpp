// The relay: a remote requester's stand-in on the node that runs the
// actor.
#include "relay.hpp"

#include "message_bytes.hpp"
#include "transport.hpp"
#include "wire/codec.hpp"

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace troupe::cluster {

namespace {

using retry_reply_atom = caf::atom_constant<caf::atom("retryrep")>;

// How long a reply waits for room on a connection that has too much
// waiting: as long as the transport lets a peer read nothing before it
// drops it (then the requester's node learns the connection is gone).
std::chrono::milliseconds reply_patience(const context& ctx) {
  return std::max(std::chrono::milliseconds{1000},
                  4 * ctx.settings.acceptable_pause);
}

// Sends an encoded reply; a connection with too much waiting is tried
// again every few milliseconds (an actor never waits for room) until
// `reply_patience` has passed. A reply that cannot be sent is counted and
// logged, never dropped in silence.
struct pending_reply {
  context_ptr ctx;
  std::string origin;
  std::uint64_t id = 0;
  std::vector<std::uint8_t> bytes;
  caf::actor_clock::time_point give_up;

  // Whether the relay is done with the reply.
  bool attempt(caf::event_based_actor* r) const {
    auto outcome = ctx->links.send(origin, bytes.data(), bytes.size());
    if (outcome == link_write::busy && r->clock().now() < give_up) {
      r->delayed_send(r, std::chrono::milliseconds{5}, retry_reply_atom::value);
      return false;
    }
    if (outcome != link_write::sent) {
      if (ctx->metrics != nullptr) {
        ctx->metrics
          ->add_counter("troupe_cluster_replies_unsent_total",
                        "Replies to remote requests that could not be "
                        "sent back")
          .inc();
      }
      ctx->log("router")->warn(
        "event=reply.unsent peer={} request={} reason=\"{}\"", origin, id,
        describe(outcome == link_write::busy ? unsent::busy
                                             : unsent::no_connection,
                 *ctx, origin));
    }
    return true;
  }
};

void deliver(caf::event_based_actor* r, const context_ptr& ctx,
             const std::string& origin, std::uint64_t id,
             std::vector<std::uint8_t> bytes) {
  auto reply = std::make_shared<pending_reply>(
    pending_reply{.ctx = ctx,
                  .origin = origin,
                  .id = id,
                  .bytes = std::move(bytes),
                  .give_up = r->clock().now() + reply_patience(*ctx)});
  if (reply->attempt(r)) {
    r->quit();
    return;
  }
  r->become([r, reply](retry_reply_atom) {
    if (reply->attempt(r)) {
      r->quit();
    }
  });
}

} // namespace

caf::actor spawn_relay(caf::actor_system& sys, const context_ptr& ctx,
                       const caf::actor_addr& router, const std::string& origin,
                       std::uint64_t id) {
  return sys.spawn([ctx, origin, id, router](caf::event_based_actor* r) {
    r->monitor(router);
    r->set_down_handler([r](caf::down_msg&) { r->quit(); });
    // The reply as the requester's node can take it: an error text
    // cut to what its decoder reads, and a reply too large for one
    // frame turned into an error (sent as it is, the requester's node
    // would drop the connection and everything queued on it).
    auto answer = [ctx, origin, id, r](wire::route_reply reply) {
      reply.request_id = id;
      reply.error = wire::bounded_text(std::move(reply.error));
      auto size = reply.message.size();
      auto bytes = wire::encode(wire::frame{wire::route{std::move(reply)}});
      if (bytes.size() > ctx->settings.max_frame_bytes) {
        bytes = wire::encode(wire::frame{wire::route{wire::route_reply{
          .request_id = id,
          .error = fmt::format("a reply of {} bytes is over "
                               "cluster.max_frame_bytes ({})",
                               size, ctx->settings.max_frame_bytes)}}});
      }
      deliver(r, ctx, origin, id, std::move(bytes));
    };
    // An error the actor answers with comes as an error message.
    r->set_error_handler([answer, r](caf::error& err) {
      answer({.error = r->system().render(err)});
    });
    r->set_default_handler(
      [answer, r](caf::scheduled_actor*,
                  caf::message_view& x) -> caf::result<caf::message> {
        auto msg = x.move_content_to_message();
        if (msg.match_elements<caf::error>()) {
          answer({.error = r->system().render(msg.get_as<caf::error>(0))});
        } else if (auto bytes = to_bytes(r->system(), msg)) {
          answer({.message = std::move(*bytes)});
        } else {
          answer({.error = r->system().render(bytes.error())});
        }
        return caf::message{};
      });
    return caf::behavior{caf::after(relay_lifetime) >> [r] { r->quit(); }};
  });
}

} // namespace troupe::cluster

// The relay: a remote requester's stand-in on the node that runs the
// actor.
#include "relay.hpp"

#include "message_bytes.hpp"
#include "wire/codec.hpp"

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <fmt/format.h>

namespace troupe::cluster {

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
      ctx->links.send(origin, bytes.data(), bytes.size());
      r->quit();
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

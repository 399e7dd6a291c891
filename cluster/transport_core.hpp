// The cluster transport's protocol apart from what carries the bytes: the
// handshake, one connection per pair of nodes, and where each frame goes.
#pragma once

#include "context.hpp"
#include "frame_link.hpp"
#include "handshake.hpp"
#include "session.hpp"
#include "wire/codec.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>

// Frames travel between local actors only; on the wire they are Cap'n Proto.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::wire::frame)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::wire::hello)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::wire::payload)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::cluster::wire::route)

namespace troupe::cluster {

/// What carries the bytes: TCP sockets (`spawn_transport`) or the test
/// kit's simulated network. The core calls it; it answers by calling the
/// core.
class transport_io {
public:
  virtual ~transport_io() = default;

  /// Opens a connection to `target` (`host:port`); answers later with
  /// `transport_core::adopt` or `transport_core::dial_failed`.
  virtual void dial(const std::string& target) = 0;

  /// Closes connection `id`, which the core has already forgotten (its link
  /// is closed).
  virtual void close(std::uint64_t id) = 0;

  /// The peer on connection `id` has proved itself: everything it sends
  /// from now on comes protected at `level` under `receive_key` (see
  /// `session_inbox::secure`).
  virtual void authenticated(std::uint64_t id, protection level,
                             const std::string& receive_key)
    = 0;
};

/// The protocol of the cluster transport, run by the actor that owns the
/// connections (see `spawn_transport` for the protocol).
///
/// Both sides send `hello` (identity, cluster name, a random challenge, the
/// session protection offered).
/// The side that dialled then proves that it knows the cluster's secret
/// (`auth`: see `handshake_proof`, which covers both hellos, the roles, the
/// cluster and the protocol version); the side that accepted verifies that
/// proof before it sends its own, so it answers nobody who has not proved
/// anything. Until the peer's proof verifies, any other frame drops the
/// connection, and so does a handshake not over within
/// `cluster.handshake_timeout`; a peer whose offer this node does not
/// accept (`agree`) is refused at its hello. Once the proofs verify, both
/// directions use keys derived from the transcript (`session_keys_of`) at
/// the protection agreed: the link seals what is sent, the carrier opens
/// what arrives. At most `cluster.max_pending_connections`
/// accepted connections may be in their handshake at once. One connection
/// per pair of nodes: when both connect at once, the one opened by the
/// lower node id stays. The core tells `owner` `(peer_up_atom, hello)`,
/// `(peer_down_atom, node_id, bool goodbye)` and `(peer_frame_atom, node_id,
/// frame)`; payloads go to their kind's handler and routing frames to the
/// router (held, in order, while none runs).
class transport_core {
public:
  transport_core(caf::local_actor* self, context_ptr ctx, caf::actor owner,
                 transport_io& io);

  /// A new connection (`target`: the address dialled, empty for one
  /// accepted); sends this node's hello on `link`, and sends the owning
  /// actor `(handshake_due_atom, id)` when the handshake's time is up.
  /// False: refused (too many connections in their handshake), and
  /// already closed through `io`.
  bool adopt(std::uint64_t id, std::string target,
             std::shared_ptr<frame_link> link);

  /// The handshake's time on `id` may be up: drops the connection if its
  /// peer has not proved itself.
  void handshake_due(std::uint64_t id);

  /// A frame that arrived on `id`. `counted`: a routing frame that a reader
  /// counted in `context::routes_via_transport`.
  void on_frame(std::uint64_t id, wire::frame f, bool counted = false);

  /// A frame that arrived on a connection already gone (`counted` as in
  /// `on_frame`).
  void discard(bool counted) {
    handed_on(counted);
  }

  /// Bytes on `id` that are no frame (too long, or not decodable): counted
  /// as refused, and the connection dropped with `why`.
  void refuse(std::uint64_t id, const std::string& why);

  /// Closes `id`; tells the owner if it carried an established peer.
  void drop(std::uint64_t id, const std::string& why);

  /// Dials `target` unless a dial to it is under way.
  void dial(const std::string& target);

  /// A dial that found nobody.
  void dial_failed(const std::string& target);

  /// Drops and refuses these peers (a partition made by a test).
  void block(const std::vector<std::string>& node_ids);

  /// Tells every peer this node is going away on purpose.
  void say_goodbye();

  /// Makes `owner` the receiver of peer events, telling it of every peer
  /// connected now.
  void set_owner(caf::actor owner);

  /// Hands routing frames that waited for the router to it.
  void release_routes();

  /// Forgets every connection, closing each through `io` without telling
  /// the owner (the transport is exiting).
  void close_all();

  /// Closes every link (the actor is gone; its connections close with it).
  void close_links();

  /// Whether connection `id` is open.
  bool has(std::uint64_t id) const {
    return conns_.count(id) != 0;
  }

  /// The authenticated peer on connection `id`, or null.
  const wire::hello* peer_of(std::uint64_t id) const;

  /// Counts a frame of `size` bytes received (the carrier reads them).
  void count_in(std::size_t size);

  /// The counters of frames and bytes received (null without metrics).
  runtime::counter* frames_in() const {
    return frames_in_;
  }
  runtime::counter* bytes_in() const {
    return bytes_in_;
  }

  /// Counts an event under the metric `name`.
  void count(const std::string& name);

private:
  struct connection {
    std::string challenge; // ours, for the peer to answer
    caf::actor_clock::time_point adopted{};
    std::optional<wire::hello> peer;     // the peer's hello, once received
    bool verified = false;               // the peer answered our challenge
    protection level = protection::none; // agreed at the peer's hello
    bool goodbye = false;                // the peer said it is leaving
    std::string target;                  // for outbound: the address dialled
    std::shared_ptr<frame_link> link;

    bool outbound() const {
      return !target.empty();
    }
  };

  template <class... Ts>
  void tell(const caf::actor& dest, Ts&&... xs) {
    if (dest) {
      dest->enqueue(caf::make_mailbox_element(self_->ctrl(),
                                              caf::make_message_id(), {},
                                              std::forward<Ts>(xs)...),
                    self_->context());
    }
  }

  void write_frame(connection& c, const wire::frame& f);
  std::string challenge();
  void close_connection(std::uint64_t id, connection& c);
  void on_hello(std::uint64_t id, connection& c, wire::hello h);
  void on_auth(std::uint64_t id, connection& c, const wire::auth& a);
  void established(std::uint64_t id, connection& c);
  handshake_transcript transcript_of(const connection& c) const;
  std::size_t pending_inbound() const;
  void deliver_route(const std::string& from, wire::route r, bool counted);
  void handed_on(bool counted);

  caf::local_actor* self_;
  context_ptr ctx_;
  caf::actor owner_;
  transport_io* io_;
  std::shared_ptr<spdlog::logger> log_;
  runtime::counter* frames_out_ = nullptr;
  runtime::counter* frames_in_ = nullptr;
  runtime::counter* bytes_out_ = nullptr;
  runtime::counter* bytes_in_ = nullptr;
  std::map<std::uint64_t, connection> conns_;
  std::map<std::string, std::uint64_t> peers_; // established, by node id
  std::set<std::string> dialling_;
  std::set<std::string> blocked_;
  // Routing frames that came before the router ran.
  static constexpr std::size_t max_waiting_routes = 10000;
  struct waiting_route {
    std::string from;
    wire::route r;
    bool counted;
  };
  std::vector<waiting_route> waiting_routes_;
};

} // namespace troupe::cluster

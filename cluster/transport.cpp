// The cluster transport: authenticated TCP connections carrying frames.
#include "cluster/transport.hpp"

#include "actors/crash_report.hpp"
#include "cluster/atoms.hpp"
#include "cluster/errors.hpp"
#include "cluster/frame_inbox.hpp"
#include "cluster/peer_link.hpp"
#include "cluster/peer_reader.hpp"
#include "runtime/errors.hpp"
#include "runtime/io_poller.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>

#include <map>
#include <set>
#include <utility>
#include <vector>

namespace troupe::cluster {

namespace {

using caf::io::connection_handle;

// Bytes asked of the socket per read: many frames arrive in one read.
constexpr std::size_t read_chunk = 64 * 1024;

struct connection {
  explicit connection(std::size_t max_frame_bytes) : inbox(max_frame_bytes) {}
  bool outbound = false;
  frame_inbox inbox;               // received, not yet taken as frames
  std::string challenge;           // ours, for the peer to answer
  std::optional<wire::hello> peer; // the peer's hello, once received
  bool verified = false;           // the peer answered our challenge
  bool goodbye = false;            // the peer said it is leaving
  std::string target;              // for outbound: the address dialled
  std::shared_ptr<peer_link> link; // the sending side
  // With a poller: the handshake is over, workers read from here on.
  bool hand_over = false;
  std::shared_ptr<peer_reader> reader;
  std::uint64_t reader_key = 0;
};

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

class transport_state : public std::enable_shared_from_this<transport_state> {
public:
  transport_state(caf::io::broker* self, context_ptr ctx, caf::actor owner)
    : self_(self), ctx_(std::move(ctx)), owner_(std::move(owner)),
      log_(ctx_->log("transport")),
      poller_(runtime::poller_of(self->system())) {
    if (ctx_->metrics != nullptr) {
      frames_out_ = &ctx_->metrics->add_counter("troupe_cluster_frames_total",
                                                "Frames between nodes",
                                                {{"direction", "out"}});
      frames_in_ = &ctx_->metrics->add_counter("troupe_cluster_frames_total",
                                               "Frames between nodes",
                                               {{"direction", "in"}});
      bytes_out_ = &ctx_->metrics->add_counter(
        "troupe_cluster_frame_bytes_total", "Frame bytes between nodes",
        {{"direction", "out"}});
      bytes_in_ = &ctx_->metrics->add_counter(
        "troupe_cluster_frame_bytes_total", "Frame bytes between nodes",
        {{"direction", "in"}});
      ctx_->links.set_counters(frames_out_, bytes_out_);
    }
  }

  // Closes every connection's sending side and reader (the broker is gone:
  // its sockets close, and the duplicates kept by links and readers must
  // too).
  void close_links() {
    for (auto& [hdl, c] : conns_) {
      if (c.peer) {
        ctx_->links.erase(c.peer->node_id, c.link);
      }
      if (c.link) {
        c.link->close();
      }
      if (c.reader) {
        poller_->unwatch(c.reader_key);
        c.reader->shut_down();
      }
    }
  }

  caf::behavior make_behavior();

private:
  // -- sending ----------------------------------------------------------------

  // The handshake's frames (everything else is written by the senders
  // through the published link).
  void write_frame(connection& c, const wire::frame& f) {
    auto bytes = wire::encode(f);
    if (c.link->write(bytes.data(), bytes.size()) && frames_out_ != nullptr) {
      frames_out_->inc();
      bytes_out_->inc(4 + bytes.size());
    }
  }

  void send_hello(connection& c) {
    c.challenge = random_bytes(wire::challenge_bytes);
    write_frame(c, wire::hello{.node_id = ctx_->node_id,
                               .name = ctx_->name,
                               .address = ctx_->advertised,
                               .incarnation = ctx_->incarnation,
                               .challenge = c.challenge,
                               .cluster = ctx_->settings.name});
  }

  // -- connections ------------------------------------------------------------

  void adopt(connection_handle hdl, bool outbound, std::string target) {
    auto& c
      = conns_.try_emplace(hdl, ctx_->settings.max_frame_bytes).first->second;
    c.outbound = outbound;
    c.target = std::move(target);
    // The link wakes this broker to write what senders queued in a burst
    // (a weak handle: the broker owns the link).
    auto me = self_->address();
    auto id = hdl.id();
    c.link = std::make_shared<peer_link>(
      static_cast<int>(id),
      std::max(4 * ctx_->settings.acceptable_pause,
               std::chrono::milliseconds{1000}),
      [me, id] {
        if (auto transport = caf::actor_cast<caf::actor>(me)) {
          caf::anon_send(transport, flush_atom::value, id);
        }
      });
    if (c.link->closed()) {
      drop(hdl, "cannot duplicate the socket (too many open files?)");
      return;
    }
    self_->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk));
    if (poller_ != nullptr) {
      // One read at a time until the handshake is over, so that the I/O
      // thread reads nothing past it (see `on_data`).
      self_->trigger(hdl, 1);
    }
    send_hello(c);
  }

  // The handshake is over: from here on a reader on the workers takes the
  // socket, starting with the bytes that came after the handshake.
  void start_reader(connection_handle hdl, connection& c) {
    c.hand_over = false;
    int fd = fcntl(static_cast<int>(hdl.id()), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      drop(hdl, "cannot duplicate the socket (too many open files?)");
      return;
    }
    c.reader = std::make_shared<peer_reader>(ctx_, fd, c.peer->node_id,
                                             c.peer->name, hdl.id(),
                                             self_->address(), frames_in_,
                                             bytes_in_);
    if (!c.reader->preload(c.inbox.take_pending())) {
      return; // it told this actor why
    }
    c.reader_key = poller_->watch(fd, c.reader);
    if (c.reader_key == 0) {
      drop(hdl, "cannot watch the socket");
    }
  }

  // Closes the socket of a connection leaving `conns_`. A socket a reader
  // has is shut down and handed back to the I/O thread, which reads its end
  // and lets it go as if the peer had closed it (closing the passive scribe
  // instead would keep it, and its descriptor, for good). If the hand-over
  // happened in the I/O thread's current round, the scribe is not passive
  // yet and ignores the trigger, so it is triggered again with every
  // message this actor handles until the I/O thread reports it closed (no
  // timer: this also runs while the actor system shuts down).
  void close_socket(connection_handle hdl, connection& c) {
    c.link->close();
    if (c.reader) {
      poller_->unwatch(c.reader_key);
      c.reader->shut_down();
      c.reader = nullptr;
      self_->trigger(hdl);
      closing_.insert(hdl);
      return;
    }
    if (poller_ != nullptr) {
      self_->trigger(hdl); // the handshake's single reads
    }
    self_->close(hdl);
  }

  // The transport was asked to exit. Sockets that readers have go back to
  // the I/O thread, and the transport quits once it has closed them all (or
  // after a second): closed by the broker's exit instead, they would stay
  // open for good.
  void begin_exit(caf::error reason) {
    for (auto& [hdl, c] : conns_) {
      if (c.peer) {
        ctx_->links.erase(c.peer->node_id, c.link);
      }
      if (c.reader) {
        close_socket(hdl, c);
      } else {
        c.link->close();
      }
    }
    conns_.clear();
    peers_.clear();
    exit_reason_ = std::move(reason);
    exiting_ = true;
    if (closing_.empty()) {
      self_->quit(exit_reason_);
      return;
    }
    self_->delayed_send(self_, std::chrono::seconds{1}, exit_wait_atom::value);
  }

  // The I/O thread closed a socket.
  void on_closed(connection_handle hdl) {
    if (closing_.erase(hdl) != 0) {
      if (exiting_ && closing_.empty()) {
        self_->quit(exit_reason_);
      }
      return;
    }
    drop(hdl, "connection closed");
  }

  // See `close_socket`.
  void retrigger() {
    for (auto hdl : closing_) {
      self_->trigger(hdl);
    }
  }

  // Closes a connection; tells the owner if it carried an established peer.
  void drop(connection_handle hdl, const std::string& why) {
    auto i = conns_.find(hdl);
    if (i == conns_.end()) {
      return;
    }
    auto c = std::move(i->second);
    conns_.erase(i);
    if (c.peer) {
      ctx_->links.erase(c.peer->node_id, c.link);
    }
    close_socket(hdl, c);
    if (!c.target.empty()) {
      dialling_.erase(c.target);
    }
    if (c.peer && c.verified) {
      auto p = peers_.find(c.peer->node_id);
      if (p != peers_.end() && p->second == hdl) {
        peers_.erase(p);
        log_->info("event=peer.disconnect peer={} reason=\"{}\"", c.peer->name,
                   why);
        self_->send(owner_, peer_down_atom::value, c.peer->node_id, c.goodbye);
      }
    } else if (!why.empty()) {
      log_->warn("event=peer.refused peer={} reason=\"{}\"",
                 c.peer ? c.peer->name : c.target, why);
    }
  }

  // Takes every complete frame out of what has arrived on a connection.
  void on_data(connection_handle hdl, const std::vector<char>& buf) {
    auto i = conns_.find(hdl);
    if (i == conns_.end() || i->second.reader) {
      return;
    }
    i->second.inbox.append(buf.data(), buf.size());
    for (;;) {
      auto& c = i->second;
      auto v = c.inbox.next();
      if (v.data == nullptr) {
        if (c.inbox.broken()) {
          count("troupe_cluster_frames_refused_total");
          drop(hdl,
               fmt::format("frame of {} bytes (limit {})", c.inbox.bad_length(),
                           ctx_->settings.max_frame_bytes));
          return;
        }
        break;
      }
      if (frames_in_ != nullptr) {
        frames_in_->inc();
        bytes_in_->inc(4 + v.size);
      }
      auto f = wire::decode(
        v.data, v.size, {.max_frame_bytes = ctx_->settings.max_frame_bytes});
      if (!f) {
        count("troupe_cluster_frames_refused_total");
        drop(hdl, runtime::describe(f.error()));
        return;
      }
      on_frame(hdl, c, std::move(*f), false);
      // The frame may have closed this connection (or replaced it).
      i = conns_.find(hdl);
      if (i == conns_.end()) {
        return;
      }
      if (i->second.hand_over) {
        start_reader(hdl, i->second);
        return; // no more reads here: the passivated scribe stays quiet
      }
    }
    if (poller_ != nullptr) {
      self_->trigger(hdl, 1);
    }
  }

  // A frame a reader passed on (everything but payloads and, while the
  // router runs, routing frames).
  void on_inbound(connection_handle hdl, wire::frame f) {
    bool counted = std::holds_alternative<wire::route>(f);
    auto i = conns_.find(hdl);
    if (i == conns_.end() || !i->second.reader) {
      if (counted) {
        ctx_->routes_via_transport.fetch_sub(1, std::memory_order_acq_rel);
      }
      return; // closed meanwhile
    }
    on_frame(hdl, i->second, std::move(f), counted);
  }

  // `counted`: a routing frame a reader passed on, counted in
  // `routes_via_transport` until it is handed on.
  void on_frame(connection_handle hdl, connection& c, wire::frame f,
                bool counted) {
    if (auto* h = std::get_if<wire::hello>(&f)) {
      on_hello(hdl, c, std::move(*h));
      return;
    }
    if (auto* a = std::get_if<wire::auth>(&f)) {
      on_auth(hdl, c, *a);
      return;
    }
    if (!c.verified) {
      drop(hdl, "frame " + wire::kind_of(f) + " before authentication");
      return;
    }
    if (std::holds_alternative<wire::unknown_frame>(f)) {
      log_->debug("event=frame.skip peer={} kind=unknown", c.peer->name);
      return;
    }
    if (std::holds_alternative<wire::goodbye>(f)) {
      c.goodbye = true;
      return;
    }
    if (auto* p = std::get_if<wire::payload>(&f)) {
      if (auto h = ctx_->handler(p->kind)) {
        self_->send(h, payload_atom::value, c.peer->node_id, std::move(*p));
      } else {
        count("troupe_cluster_payloads_dropped_total");
        log_->debug("event=payload.drop peer={} kind={} reason=no_handler",
                    c.peer->name, p->kind);
      }
      return;
    }
    if (auto* r = std::get_if<wire::route>(&f)) {
      deliver_route(c.peer->node_id, std::move(*r), counted);
      return;
    }
    self_->send(owner_, peer_frame_atom::value, c.peer->node_id, std::move(f));
  }

  // Routing and handoff frames go to the router. Until it runs (it starts
  // after the transport, and a peer may hand off to this node at once) they
  // wait here, in the order they came.
  void deliver_route(const std::string& from, wire::route r, bool counted) {
    auto router = ctx_->router();
    if (!router) {
      if (waiting_routes_.size() >= max_waiting_routes) {
        count("troupe_cluster_payloads_dropped_total");
        handed_on(counted);
        return;
      }
      waiting_routes_.push_back({from, std::move(r), counted});
      return;
    }
    release_routes();
    self_->send(router, payload_atom::value, from, std::move(r));
    handed_on(counted);
  }

  void release_routes() {
    auto router = ctx_->router();
    if (!router) {
      return;
    }
    for (auto& w : waiting_routes_) {
      self_->send(router, payload_atom::value, w.from, std::move(w.r));
      handed_on(w.counted);
    }
    waiting_routes_.clear();
  }

  // Readers may send routing frames straight to the router again once
  // none of theirs is left here.
  void handed_on(bool counted) {
    if (counted) {
      ctx_->routes_via_transport.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void on_hello(connection_handle hdl, connection& c, wire::hello h) {
    if (c.peer) {
      drop(hdl, "second hello");
      return;
    }
    if (h.cluster != ctx_->settings.name) {
      drop(hdl, fmt::format("peer belongs to cluster \"{}\"", h.cluster));
      return;
    }
    if (h.node_id == ctx_->node_id) {
      drop(hdl, "");
      return; // dialled ourselves
    }
    if (blocked_.count(h.node_id) != 0) {
      drop(hdl, "");
      return;
    }
    auto mac = auth_mac(ctx_->key, h.challenge, ctx_->node_id);
    c.peer = std::move(h);
    write_frame(c, wire::auth{.mac = mac});
  }

  void on_auth(connection_handle hdl, connection& c, const wire::auth& a) {
    if (!c.peer || c.verified) {
      drop(hdl, "unexpected auth");
      return;
    }
    auto expected = auth_mac(ctx_->key, c.challenge, c.peer->node_id);
    if (sodium_memcmp(expected.data(), a.mac.data(), expected.size()) != 0) {
      count("troupe_cluster_auth_failures_total");
      log_->error("event=peer.auth_failed peer={} address={}", c.peer->name,
                  runtime::to_string(c.peer->address));
      drop(hdl, "");
      return;
    }
    c.verified = true;
    if (!c.target.empty()) {
      dialling_.erase(c.target);
    }
    const auto& id = c.peer->node_id;
    if (auto old = peers_.find(id); old != peers_.end()) {
      // Two connections to one peer: keep the one the lower id opened.
      bool we_are_lower = ctx_->node_id < id;
      bool keep_new = c.outbound == we_are_lower;
      auto loser = keep_new ? old->second : hdl;
      if (keep_new) {
        old->second = hdl;
        ctx_->links.put(id, c.link);
      } else {
        c.verified = false;
      }
      close_socket(loser, conns_.at(loser));
      conns_.erase(loser); // no peer_down for the loser
      if (!keep_new) {
        return;
      }
    } else {
      peers_.emplace(id, hdl);
      ctx_->links.put(id, c.link);
    }
    c.hand_over = poller_ != nullptr;
    log_->info("event=peer.connect peer={} incarnation={} direction={}",
               c.peer->name, c.peer->incarnation, c.outbound ? "out" : "in");
    self_->send(owner_, peer_up_atom::value, *c.peer);
  }

  void dial(const std::string& target) {
    if (dialling_.count(target) != 0) {
      return;
    }
    auto ep = runtime::parse_endpoint(target);
    if (!ep) {
      return;
    }
    dialling_.insert(target);
    auto me = caf::actor_cast<caf::actor>(self_);
    // Connecting blocks: do it on a thread of its own, then adopt the socket.
    self_->system().spawn<caf::detached>(
      [me, target, ep = *ep](caf::event_based_actor* helper) {
        auto fd = caf::io::network::new_tcp_connection(ep.host, ep.port);
        if (fd) {
          helper->send(me, connected_atom::value, target,
                       static_cast<std::int64_t>(*fd));
        } else {
          helper->send(me, connected_atom::value, target, std::int64_t{-1});
        }
        helper->quit();
      });
  }

  void count(const std::string& metric) {
    if (ctx_->metrics != nullptr) {
      ctx_->metrics->add_counter(metric, "cluster transport events").inc();
    }
  }

  caf::io::broker* self_;
  context_ptr ctx_;
  caf::actor owner_;
  std::shared_ptr<spdlog::logger> log_;
  runtime::io_poller* poller_; // null: the I/O thread reads every socket
  runtime::counter* frames_out_ = nullptr;
  runtime::counter* frames_in_ = nullptr;
  runtime::counter* bytes_out_ = nullptr;
  runtime::counter* bytes_in_ = nullptr;
  std::map<connection_handle, connection> conns_;
  std::map<std::string, connection_handle> peers_; // established, by node id
  std::set<std::string> dialling_;
  std::set<std::string> blocked_;
  // Sockets given back to the I/O thread and not yet closed by it.
  std::set<connection_handle> closing_;
  // Exiting (once `closing_` is empty), and the reason to quit with.
  bool exiting_ = false;
  caf::error exit_reason_;
  // Routing frames that came before the router ran.
  static constexpr std::size_t max_waiting_routes = 10000;
  struct waiting_route {
    std::string from;
    wire::route r;
    bool counted;
  };
  std::vector<waiting_route> waiting_routes_;
};

caf::behavior transport_state::make_behavior() {
  auto self = shared_from_this();
  self_->set_default_handler(actors::unexpected_message_handler("transport"));
  self_->set_exit_handler([self](caf::exit_msg& msg) {
    if (msg.reason && !self->exiting_) { // as CAF's: a normal exit is ignored
      self->begin_exit(std::move(msg.reason));
    }
  });
  return {
    [self](const caf::io::new_connection_msg& msg) {
      if (self->exiting_) {
        self->self_->close(msg.handle);
        return;
      }
      self->adopt(msg.handle, false, "");
    },
    [self](const caf::io::new_data_msg& msg) {
      self->retrigger();
      self->on_data(msg.handle, msg.buf);
    },
    [self](const caf::io::connection_closed_msg& msg) {
      self->retrigger();
      self->on_closed(msg.handle);
    },
    [self](exit_wait_atom) {
      if (self->exiting_) {
        self->self_->quit(self->exit_reason_);
      }
    },
    [](const caf::io::connection_passivated_msg&) {
      // The handshake is over and a reader has the socket.
    },
    [self](inbound_atom, std::int64_t id, wire::frame& f) {
      self->retrigger();
      self->on_inbound(connection_handle::from_int(id), std::move(f));
    },
    [self](reader_end_atom, std::int64_t id, const std::string& why, bool) {
      self->retrigger();
      self->drop(connection_handle::from_int(id), why);
    },
    [self](const caf::io::acceptor_closed_msg&) {
      self->log_->error("event=transport.acceptor_closed");
      self->self_->quit(
        caf::make_error(errc::peer_unreachable, "the listening socket closed"));
    },
    [self](connected_atom, const std::string& target, std::int64_t fd) {
      if (fd >= 0 && self->exiting_) {
        caf::io::network::close_socket(
          static_cast<caf::io::network::native_socket>(fd));
        return;
      }
      if (fd < 0) {
        self->dialling_.erase(target);
        self->log_->debug("event=peer.dial_failed address={}", target);
        return;
      }
      auto sock = static_cast<caf::io::network::native_socket>(fd);
      // Frames are small and often answered: no Nagle delay.
      static_cast<void>(caf::io::network::tcp_nodelay(sock, true));
      auto hdl = self->self_->add_scribe(sock);
      self->adopt(hdl, true, target);
    },
    [self](flush_atom, std::int64_t id) {
      auto i = self->conns_.find(connection_handle::from_int(id));
      if (i != self->conns_.end() && i->second.link
          && i->second.link->flush() == peer_link::flush_result::again) {
        // The socket is full: try again shortly (the link gives up after
        // its stall limit).
        self->self_->delayed_send(self->self_, std::chrono::milliseconds{1},
                                  flush_atom::value, id);
      }
    },
    [self](connect_atom, const std::string& target) {
      if (!self->exiting_) {
        self->dial(target);
      }
    },
    [self](router_up_atom) { self->release_routes(); },
    [self](block_atom, const std::vector<std::string>& ids) {
      self->blocked_ = {ids.begin(), ids.end()};
      std::vector<connection_handle> victims;
      for (const auto& [hdl, c] : self->conns_) {
        if (c.peer && self->blocked_.count(c.peer->node_id) != 0) {
          victims.push_back(hdl);
        }
      }
      for (auto hdl : victims) {
        self->drop(hdl, "partitioned");
      }
    },
    [self](goodbye_atom) {
      for (const auto& [id, hdl] : self->peers_) {
        self->write_frame(self->conns_.at(hdl), wire::goodbye{});
      }
    },
    [self](owner_atom, const caf::actor& owner) {
      self->owner_ = owner;
      for (const auto& [id, hdl] : self->peers_) {
        self->self_->send(owner, peer_up_atom::value,
                          *self->conns_.at(hdl).peer);
      }
    },
  };
}

} // namespace

bool send_frame(context& ctx, const std::string& node_id,
                const wire::frame& f) {
  auto bytes = wire::encode(f);
  return ctx.links.send(node_id, bytes.data(), bytes.size());
}

std::string derive_key(const std::string& secret) {
  std::string key(crypto_auth_KEYBYTES, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(key.data()), key.size(),
                     reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), nullptr, 0);
  return key;
}

std::string auth_mac(const std::string& key, const std::string& challenge,
                     const std::string& node_id) {
  std::string input = challenge + node_id;
  std::string mac(crypto_auth_BYTES, '\0');
  crypto_auth(reinterpret_cast<unsigned char*>(mac.data()),
              reinterpret_cast<const unsigned char*>(input.data()),
              input.size(), reinterpret_cast<const unsigned char*>(key.data()));
  return mac;
}

caf::expected<caf::actor> spawn_transport(caf::actor_system& sys,
                                          const context_ptr& ctx,
                                          const caf::actor& owner) {
  if (sodium_init() < 0) {
    return caf::make_error(errc::invalid_settings, "libsodium did not start");
  }
  const auto& listen = ctx->advertised;
  auto fd = caf::io::network::new_tcp_acceptor_impl(
    ctx->listen_port() != 0 ? ctx->listen_port() : listen.port,
    listen.host.c_str(), true);
  if (!fd) {
    return caf::make_error(errc::invalid_settings,
                           fmt::format("cannot listen on {}: {}",
                                       runtime::to_string(listen),
                                       caf::to_string(fd.error())));
  }
  // Accepted connections inherit this (no Nagle delay on frames).
  static_cast<void>(caf::io::network::tcp_nodelay(*fd, true));
  auto port = caf::io::network::local_port_of_fd(*fd);
  if (!port) {
    caf::io::network::close_socket(*fd);
    return std::move(port.error());
  }
  ctx->set_listen_port(*port);
  ctx->log("transport")
    ->info("event=transport.listen address={}:{}", listen.host, *port);
  auto acceptor = *fd;
  auto hdl = sys.middleman().spawn_broker(
    [ctx, owner, acceptor](caf::io::broker* self) {
      self->add_doorman(acceptor);
      auto st = std::make_shared<transport_state>(self, ctx, owner);
      self->attach_functor([st] { st->close_links(); });
      return st->make_behavior();
    });
  ctx->set_transport(hdl);
  return hdl;
}

} // namespace troupe::cluster

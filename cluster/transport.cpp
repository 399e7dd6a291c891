// The cluster transport: authenticated TCP connections carrying frames.
#include "transport.hpp"

#include "../actors/crash_report.hpp"
#include "../runtime/actor_thread.hpp"
#include "../runtime/errors.hpp"
#include "../runtime/io_poller.hpp"
#include "atoms.hpp"
#include "errors.hpp"
#include "peer_link.hpp"
#include "peer_reader.hpp"
#include "session.hpp"
#include "transport_core.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/socket.h>

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace troupe::cluster {

namespace {

using caf::io::connection_handle;

// Bytes asked of the socket per read: many frames arrive in one read.
constexpr std::size_t read_chunk = 64 * 1024;

// What the sockets need beyond the protocol's own record of a connection.
struct connection {
  explicit connection(std::size_t max_frame_bytes) : inbox(max_frame_bytes) {}
  session_inbox inbox;             // received, not yet taken as frames
  std::shared_ptr<peer_link> link; // the sending side
  // With a poller: the handshake is over, workers read from here on.
  bool hand_over = false;
  std::shared_ptr<peer_reader> reader;
  std::uint64_t reader_key = 0;
  // What the reader calls its connection in its messages: never reused,
  // unlike the handle (the socket's number), so that a message a closed
  // connection's reader sent late cannot reach a younger connection that
  // was given the same number.
  std::int64_t reader_serial = 0;
  // Being adopted: the protocol may refuse it before its first read.
  bool adopting = false;
};

std::uint64_t id_of(connection_handle hdl) {
  return static_cast<std::uint64_t>(hdl.id());
}

connection_handle handle_of(std::uint64_t id) {
  return connection_handle::from_int(static_cast<std::int64_t>(id));
}

class transport_state : public std::enable_shared_from_this<transport_state>,
                        public transport_io {
public:
  transport_state(caf::io::broker* self, context_ptr ctx, caf::actor owner)
    : self_(self), ctx_(std::move(ctx)), log_(ctx_->log("transport")),
      poller_(runtime::poller_of(self->system())),
      core_(self, ctx_, std::move(owner), *this) {}

  // Closes every connection's sending side and reader (the broker is gone:
  // its sockets close, and the duplicates kept by links and readers must
  // too).
  void close_links() {
    core_.close_links();
    for (auto& [hdl, c] : conns_) {
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

  // -- transport_io -----------------------------------------------------------

  // Connecting blocks: it runs on a thread of its own, then the socket is
  // adopted.
  void dial(const std::string& target) override {
    auto ep = runtime::parse_endpoint(target);
    if (!ep) {
      core_.dial_failed(target);
      return;
    }
    auto me = caf::actor_cast<caf::actor>(self_);
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

  // Closes the socket of a connection the protocol has let go. A socket a
  // reader has is shut down and handed back to the I/O thread, which reads
  // its end and lets it go as if the peer had closed it (closing the
  // passive scribe instead would keep it, and its descriptor, for good). If
  // the hand-over happened in the I/O thread's current round, the scribe is
  // not passive yet and ignores the trigger, so it is triggered again with
  // every message this actor handles until the I/O thread reports it closed
  // (no timer: this also runs while the actor system shuts down).
  void close(std::uint64_t id) override {
    auto hdl = handle_of(id);
    auto i = conns_.find(hdl);
    if (i == conns_.end()) {
      return;
    }
    auto c = std::move(i->second);
    conns_.erase(i);
    readers_.erase(c.reader_serial);
    c.link->close();
    if (c.adopting) {
      // Refused as it came: closed by this broker in the same turn, the
      // scribe would never be released. The I/O thread reads the end of
      // the shut-down socket and lets it go.
      ::shutdown(static_cast<int>(id), SHUT_RDWR);
      self_->trigger(hdl);
      closing_.insert(hdl);
      return;
    }
    if (c.reader) {
      poller_->unwatch(c.reader_key);
      c.reader->shut_down();
      self_->trigger(hdl);
      closing_.insert(hdl);
      return;
    }
    if (poller_ != nullptr) {
      self_->trigger(hdl); // the handshake's single reads
    }
    self_->close(hdl);
  }

  void authenticated(std::uint64_t id, protection level,
                     const std::string& receive_key) override {
    if (auto i = conns_.find(handle_of(id)); i != conns_.end()) {
      i->second.inbox.set_limit(ctx_->settings.max_frame_bytes);
      i->second.inbox.secure(level, receive_key);
      i->second.hand_over = poller_ != nullptr;
    }
  }

private:
  // -- connections ------------------------------------------------------------

  void adopt(connection_handle hdl, std::string target) {
    // This runs on the I/O thread, which every connection is adopted on
    // and whose handshake and goodbye frames it writes: it must never wait
    // for a slow peer.
    runtime::mark_actor_thread();
    auto& c
      = conns_.try_emplace(hdl, wire::max_handshake_frame_bytes).first->second;
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
      conns_.erase(hdl);
      self_->close(hdl);
      if (!target.empty()) {
        core_.dial_failed(target);
      }
      log_->warn("event=peer.refused peer={} reason=\"cannot duplicate the "
                 "socket (too many open files?)\"",
                 target.empty() ? "-" : target);
      return;
    }
    self_->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk));
    if (poller_ != nullptr) {
      // One read at a time until the handshake is over, so that the I/O
      // thread reads nothing past it (see `on_data`).
      self_->trigger(hdl, 1);
    }
    c.adopting = true;
    if (core_.adopt(id_of(hdl), std::move(target), c.link)) {
      c.adopting = false;
    }
  }

  // The handshake is over: from here on a reader on the workers takes the
  // socket, starting with the bytes that came after the handshake.
  void start_reader(connection_handle hdl, connection& c) {
    const auto* peer = core_.peer_of(id_of(hdl));
    if (peer == nullptr) {
      return;
    }
    c.hand_over = false;
    int fd = fcntl(static_cast<int>(hdl.id()), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      core_.drop(id_of(hdl),
                 "cannot duplicate the socket (too many open files?)");
      return;
    }
    c.reader_serial = next_reader_serial_++;
    readers_[c.reader_serial] = hdl;
    c.reader = std::make_shared<peer_reader>(
      ctx_, fd, peer->node_id, peer->name, c.reader_serial, self_->address(),
      std::move(c.inbox), core_.frames_in(), core_.bytes_in());
    if (!c.reader->start()) {
      return; // it told this actor why
    }
    c.reader_key = poller_->watch(fd, c.reader);
    if (c.reader_key == 0) {
      core_.drop(id_of(hdl), "cannot watch the socket");
    }
  }

  // The transport was asked to exit. Sockets that readers have go back to
  // the I/O thread, and the transport quits once it has closed them all (or
  // after a second): closed by the broker's exit instead, they would stay
  // open for good.
  void begin_exit(caf::error reason) {
    core_.close_all();
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
    core_.drop(id_of(hdl), "connection closed");
  }

  // See `close`.
  void retrigger() {
    for (auto hdl : closing_) {
      self_->trigger(hdl);
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
          core_.refuse(id_of(hdl), c.inbox.error());
          return;
        }
        break;
      }
      core_.count_in(v.size);
      auto f = wire::decode(v.data, v.size,
                            {.max_frame_bytes = c.inbox.limit()});
      if (!f) {
        core_.refuse(id_of(hdl), runtime::describe(f.error()));
        return;
      }
      core_.on_frame(id_of(hdl), std::move(*f));
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

  // The connection whose reader has `serial`, if it is still open.
  std::optional<std::uint64_t> reader_connection(std::int64_t serial) const {
    auto i = readers_.find(serial);
    if (i == readers_.end()) {
      return std::nullopt;
    }
    return id_of(i->second);
  }

  caf::io::broker* self_;
  context_ptr ctx_;
  std::shared_ptr<spdlog::logger> log_;
  runtime::io_poller* poller_; // null: the I/O thread reads every socket
  transport_core core_;
  std::map<connection_handle, connection> conns_;
  std::map<std::int64_t, connection_handle> readers_; // by reader serial
  std::int64_t next_reader_serial_ = 1;
  // Sockets given back to the I/O thread and not yet closed by it.
  std::set<connection_handle> closing_;
  // Exiting (once `closing_` is empty), and the reason to quit with.
  bool exiting_ = false;
  caf::error exit_reason_;
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
      self->adopt(msg.handle, "");
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
    // A frame a reader passed on (everything but payloads and, while the
    // router runs, routing frames).
    [self](inbound_atom, std::int64_t serial, wire::frame& f) {
      self->retrigger();
      bool counted = std::holds_alternative<wire::route>(f);
      if (auto id = self->reader_connection(serial)) {
        self->core_.on_frame(*id, std::move(f), counted);
      } else {
        self->core_.discard(counted); // its connection is gone
      }
    },
    // The reader counted a refused frame itself.
    [self](reader_end_atom, std::int64_t serial, const std::string& why, bool) {
      self->retrigger();
      if (auto id = self->reader_connection(serial)) {
        self->core_.drop(*id, why);
      }
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
        self->core_.dial_failed(target);
        return;
      }
      auto sock = static_cast<caf::io::network::native_socket>(fd);
      // Frames are small and often answered: no Nagle delay.
      static_cast<void>(caf::io::network::tcp_nodelay(sock, true));
      auto hdl = self->self_->add_scribe(sock);
      self->adopt(hdl, target);
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
        self->core_.dial(target);
      }
    },
    [self](handshake_due_atom, std::uint64_t id) {
      self->retrigger();
      self->core_.handshake_due(id);
    },
    [self](router_up_atom) { self->core_.release_routes(); },
    [self](block_atom, const std::vector<std::string>& ids) {
      self->core_.block(ids);
    },
    [self](goodbye_atom) { self->core_.say_goodbye(); },
    [self](owner_atom, const caf::actor& owner) {
      self->core_.set_owner(owner);
    },
  };
}

} // namespace

std::string describe(unsent why, const context& ctx,
                     const std::string& node_id) {
  switch (why) {
    case unsent::none:
      return {};
    case unsent::too_large:
      return fmt::format("the message is over cluster.max_frame_bytes ({})",
                         ctx.settings.max_frame_bytes);
    case unsent::busy:
      return fmt::format("the connection to {} has more than its limit "
                         "waiting (the peer reads too slowly)",
                         node_id);
    case unsent::no_connection:
      break;
  }
  return "no connection to " + node_id;
}

bool send_frame(context& ctx, const std::string& node_id,
                const wire::frame& f) {
  return try_send_frame(ctx, node_id, f) == unsent::none;
}

unsent try_send_frame(context& ctx, const std::string& node_id,
                      const wire::frame& f) {
  auto bytes = wire::encode(f);
  if (bytes.size() > ctx.settings.max_frame_bytes) {
    // The receiver would drop the connection, and what is queued on it.
    if (ctx.metrics != nullptr) {
      ctx.metrics
        ->add_counter("troupe_cluster_frames_too_large_total",
                      "Frames not sent: over cluster.max_frame_bytes")
        .inc();
    }
    ctx.log("transport")
      ->error("event=frame.too_large peer={} kind={} bytes={} limit={}",
              node_id, wire::kind_of(f), bytes.size(),
              ctx.settings.max_frame_bytes);
    return unsent::too_large;
  }
  switch (ctx.links.send(node_id, bytes.data(), bytes.size())) {
    case link_write::sent:
      return unsent::none;
    case link_write::busy:
      if (ctx.metrics != nullptr) {
        ctx.metrics
          ->add_counter("troupe_cluster_frames_busy_total",
                        "Frames not sent: the peer's connection had more "
                        "than its limit waiting")
          .inc();
      }
      return unsent::busy;
    case link_write::closed:
      break;
  }
  return unsent::no_connection;
}

caf::expected<caf::actor> spawn_transport(caf::actor_system& sys,
                                          const context_ptr& ctx,
                                          const caf::actor& owner) {
  if (sodium_init() < 0) {
    return caf::make_error(errc::invalid_settings, "libsodium did not start");
  }
  const auto& listen = ctx->listen;
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

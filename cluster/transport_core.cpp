// The cluster transport's protocol apart from what carries the bytes.
#include "transport_core.hpp"

#include "../runtime/errors.hpp"
#include "atoms.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sodium.h>

#include <utility>

namespace troupe::cluster {

transport_core::transport_core(caf::local_actor* self, context_ptr ctx,
                               caf::actor owner, transport_io& io)
  : self_(self), ctx_(std::move(ctx)), owner_(std::move(owner)), io_(&io),
    log_(ctx_->log("transport")) {
  if (ctx_->metrics != nullptr) {
    frames_out_ = &ctx_->metrics->add_counter("troupe_cluster_frames_total",
                                              "Frames between nodes",
                                              {{"direction", "out"}});
    frames_in_ = &ctx_->metrics->add_counter("troupe_cluster_frames_total",
                                             "Frames between nodes",
                                             {{"direction", "in"}});
    bytes_out_ = &ctx_->metrics->add_counter("troupe_cluster_frame_bytes_total",
                                             "Frame bytes between nodes",
                                             {{"direction", "out"}});
    bytes_in_ = &ctx_->metrics->add_counter("troupe_cluster_frame_bytes_total",
                                            "Frame bytes between nodes",
                                            {{"direction", "in"}});
    ctx_->links.set_counters(frames_out_, bytes_out_);
  }
}

void transport_core::count_in(std::size_t size) {
  if (frames_in_ != nullptr) {
    frames_in_->inc();
    bytes_in_->inc(4 + size);
  }
}

const wire::hello* transport_core::peer_of(std::uint64_t id) const {
  auto i = conns_.find(id);
  if (i == conns_.end() || !i->second.verified) {
    return nullptr;
  }
  return &*i->second.peer;
}

void transport_core::count(const std::string& name) {
  if (ctx_->metrics != nullptr) {
    ctx_->metrics->add_counter(name, "cluster transport events").inc();
  }
}

// The handshake's frames (everything else is written by the senders
// through the published link).
void transport_core::write_frame(connection& c, const wire::frame& f) {
  auto bytes = wire::encode(f);
  if (c.link->write(bytes.data(), bytes.size()) == link_write::sent
      && frames_out_ != nullptr) {
    frames_out_->inc();
    bytes_out_->inc(4 + bytes.size());
  }
}

std::string transport_core::challenge() {
  if (ctx_->random_bytes) {
    return ctx_->random_bytes(wire::challenge_bytes);
  }
  std::string out(wire::challenge_bytes, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

bool transport_core::adopt(std::uint64_t id, std::string target,
                           std::shared_ptr<frame_link> link) {
  if (target.empty()
      && pending_inbound() >= ctx_->settings.max_pending_connections) {
    count("troupe_cluster_connections_refused_total");
    log_->warn("event=peer.refused peer=- reason=\"{} connections are in "
               "their handshake (cluster.max_pending_connections)\"",
               pending_inbound());
    link->close();
    io_->close(id);
    return false;
  }
  auto& c = conns_[id];
  c.target = std::move(target);
  c.link = std::move(link);
  c.challenge = challenge();
  c.adopted = self_->clock().now();
  self_->clock().schedule_message(
    c.adopted + ctx_->settings.handshake_timeout,
    caf::actor_cast<caf::strong_actor_ptr>(self_),
    caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                              handshake_due_atom::value, id));
  write_frame(c, wire::hello{.node_id = ctx_->node_id,
                             .name = ctx_->name,
                             .address = ctx_->advertised,
                             .incarnation = ctx_->incarnation,
                             .challenge = c.challenge,
                             .cluster = ctx_->settings.name,
                             .software = ctx_->software,
                             .capabilities = ctx_->capabilities,
                             .security = std::string{to_string(
                               policy_of(ctx_->settings.security).offer)}});
  return true;
}

std::size_t transport_core::pending_inbound() const {
  std::size_t n = 0;
  for (const auto& [id, c] : conns_) {
    n += !c.verified && !c.outbound() ? 1 : 0;
  }
  return n;
}

void transport_core::handshake_due(std::uint64_t id) {
  auto i = conns_.find(id);
  // The id may have been reused by a younger connection: its own message
  // comes later.
  if (i == conns_.end() || i->second.verified
      || self_->clock().now() - i->second.adopted
           < ctx_->settings.handshake_timeout) {
    return;
  }
  count("troupe_cluster_handshake_timeouts_total");
  drop(id, fmt::format("no handshake within {} ms",
                       ctx_->settings.handshake_timeout.count()));
}

void transport_core::close_connection(std::uint64_t id, connection& c) {
  if (c.peer) {
    ctx_->links.erase(c.peer->node_id, c.link);
  }
  c.link->close();
  io_->close(id);
}

void transport_core::refuse(std::uint64_t id, const std::string& why) {
  count("troupe_cluster_frames_refused_total");
  drop(id, why);
}

void transport_core::drop(std::uint64_t id, const std::string& why) {
  auto i = conns_.find(id);
  if (i == conns_.end()) {
    return;
  }
  auto c = std::move(i->second);
  conns_.erase(i);
  close_connection(id, c);
  if (!c.target.empty()) {
    dialling_.erase(c.target);
  }
  if (c.peer && c.verified) {
    auto p = peers_.find(c.peer->node_id);
    if (p != peers_.end() && p->second == id) {
      peers_.erase(p);
      log_->info("event=peer.disconnect peer={} reason=\"{}\"", c.peer->name,
                 why);
      tell(owner_, peer_down_atom::value, c.peer->node_id, c.goodbye);
    }
  } else if (!why.empty()) {
    log_->warn("event=peer.refused peer={} reason=\"{}\"",
               c.peer ? c.peer->name : c.target, why);
  }
}

void transport_core::on_frame(std::uint64_t id, wire::frame f, bool counted) {
  auto i = conns_.find(id);
  if (i == conns_.end()) {
    handed_on(counted); // closed meanwhile
    return;
  }
  auto& c = i->second;
  if (auto* h = std::get_if<wire::hello>(&f)) {
    on_hello(id, c, std::move(*h));
    return;
  }
  if (auto* a = std::get_if<wire::auth>(&f)) {
    on_auth(id, c, *a);
    return;
  }
  if (!c.verified) {
    handed_on(counted);
    drop(id, "frame " + wire::kind_of(f) + " before authentication");
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
      tell(h, payload_atom::value, c.peer->node_id, std::move(*p));
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
  tell(owner_, peer_frame_atom::value, c.peer->node_id, std::move(f));
}

// Routing and handoff frames go to the router. Until it runs (it starts
// after the transport, and a peer may hand off to this node at once) they
// wait here, in the order they came.
void transport_core::deliver_route(const std::string& from, wire::route r,
                                   bool counted) {
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
  tell(router, payload_atom::value, from, std::move(r));
  handed_on(counted);
}

void transport_core::release_routes() {
  auto router = ctx_->router();
  if (!router) {
    return;
  }
  for (auto& w : waiting_routes_) {
    tell(router, payload_atom::value, w.from, std::move(w.r));
    handed_on(w.counted);
  }
  waiting_routes_.clear();
}

// Readers may send routing frames straight to the router again once none
// of theirs is left here.
void transport_core::handed_on(bool counted) {
  if (counted) {
    ctx_->routes_via_transport.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void transport_core::on_hello(std::uint64_t id, connection& c, wire::hello h) {
  if (c.peer) {
    drop(id, "second hello");
    return;
  }
  if (h.cluster != ctx_->settings.name) {
    drop(id, fmt::format("peer belongs to cluster \"{}\"", h.cluster));
    return;
  }
  if (h.node_id == ctx_->node_id) {
    drop(id, "");
    return; // dialled ourselves
  }
  if (blocked_.count(h.node_id) != 0) {
    drop(id, "");
    return;
  }
  if (h.challenge.size() != wire::challenge_bytes) {
    drop(id, fmt::format("challenge of {} bytes (expected {})",
                         h.challenge.size(), wire::challenge_bytes));
    return;
  }
  c.peer = std::move(h);
  auto terms = agree(policy_of(ctx_->settings.security), c.peer->security);
  if (!terms.agreed) {
    count("troupe_cluster_connections_refused_total");
    drop(id, terms.refusal);
    return;
  }
  c.level = *terms.agreed;
  if (c.outbound()) {
    // The side that dialled proves first.
    write_frame(c,
                wire::auth{.mac = handshake_proof(ctx_->key, transcript_of(c),
                                                  handshake_role::initiator)});
  }
}

// Both hellos, as both sides see them: the side that dialled is the
// initiator.
handshake_transcript transport_core::transcript_of(const connection& c) const {
  handshake_transcript t{.cluster = ctx_->settings.name,
                         .protocol = wire::protocol_version};
  // A peer that offered nothing proves without offers (a build before
  // session security).
  std::string mine, theirs;
  if (!c.peer->security.empty()) {
    mine = to_string(policy_of(ctx_->settings.security).offer);
    theirs = c.peer->security;
  }
  if (c.outbound()) {
    t.initiator_id = ctx_->node_id;
    t.initiator_challenge = c.challenge;
    t.initiator_offer = mine;
    t.responder_id = c.peer->node_id;
    t.responder_challenge = c.peer->challenge;
    t.responder_offer = theirs;
  } else {
    t.initiator_id = c.peer->node_id;
    t.initiator_challenge = c.peer->challenge;
    t.initiator_offer = theirs;
    t.responder_id = ctx_->node_id;
    t.responder_challenge = c.challenge;
    t.responder_offer = mine;
  }
  return t;
}

void transport_core::on_auth(std::uint64_t id, connection& c,
                             const wire::auth& a) {
  if (!c.peer || c.verified) {
    drop(id, "unexpected auth");
    return;
  }
  auto t = transcript_of(c);
  auto theirs = c.outbound() ? handshake_role::responder
                             : handshake_role::initiator;
  if (!handshake_verify(ctx_->key, t, theirs, a.mac)) {
    count("troupe_cluster_auth_failures_total");
    log_->error("event=peer.auth_failed peer={} address={}", c.peer->name,
                runtime::to_string(c.peer->address));
    drop(id, "");
    return;
  }
  if (!c.outbound()) {
    // The initiator has proved itself: now this side does.
    write_frame(c, wire::auth{.mac = handshake_proof(
                                ctx_->key, t, handshake_role::responder)});
  }
  established(id, c);
}

void transport_core::established(std::uint64_t id, connection& c) {
  c.verified = true;
  // From here on both directions are protected, before any sender can
  // find the link.
  if (c.level != protection::none) {
    auto keys = session_keys_of(ctx_->key, transcript_of(c));
    auto& send = c.outbound() ? keys.initiator_to_responder
                              : keys.responder_to_initiator;
    auto& receive = c.outbound() ? keys.responder_to_initiator
                                 : keys.initiator_to_responder;
    c.link->secure(record_sealer{c.level, send});
    io_->authenticated(id, c.level, receive);
  } else {
    io_->authenticated(id, c.level, {});
  }
  if (!c.target.empty()) {
    dialling_.erase(c.target);
  }
  const auto& peer_id = c.peer->node_id;
  if (auto old = peers_.find(peer_id); old != peers_.end()) {
    // Two connections to one peer: keep the one the lower id opened.
    bool we_are_lower = ctx_->node_id < peer_id;
    bool keep_new = c.outbound() == we_are_lower;
    auto loser = keep_new ? old->second : id;
    if (keep_new) {
      old->second = id;
      ctx_->links.put(peer_id, c.link);
    } else {
      c.verified = false;
    }
    close_connection(loser, conns_.at(loser));
    conns_.erase(loser); // no peer_down for the loser
    if (!keep_new) {
      return;
    }
  } else {
    peers_.emplace(peer_id, id);
    ctx_->links.put(peer_id, c.link);
  }
  log_->info("event=peer.connect peer={} incarnation={} direction={} "
             "protection={}",
             c.peer->name, c.peer->incarnation, c.outbound() ? "out" : "in",
             to_string(c.level));
  log_->debug("event=peer.software peer={} software=\"{}\" capabilities={}",
              c.peer->name, c.peer->software,
              fmt::join(c.peer->capabilities, ","));
  tell(owner_, peer_up_atom::value, *c.peer);
}

void transport_core::dial(const std::string& target) {
  if (dialling_.count(target) != 0) {
    return;
  }
  if (!runtime::parse_endpoint(target)) {
    return;
  }
  dialling_.insert(target);
  io_->dial(target);
}

void transport_core::dial_failed(const std::string& target) {
  dialling_.erase(target);
  log_->debug("event=peer.dial_failed address={}", target);
}

void transport_core::block(const std::vector<std::string>& node_ids) {
  blocked_ = {node_ids.begin(), node_ids.end()};
  std::vector<std::uint64_t> victims;
  for (const auto& [id, c] : conns_) {
    if (c.peer && blocked_.count(c.peer->node_id) != 0) {
      victims.push_back(id);
    }
  }
  for (auto id : victims) {
    drop(id, "partitioned");
  }
}

void transport_core::say_goodbye() {
  for (const auto& [peer_id, id] : peers_) {
    write_frame(conns_.at(id), wire::goodbye{});
  }
}

void transport_core::set_owner(caf::actor owner) {
  owner_ = std::move(owner);
  for (const auto& [peer_id, id] : peers_) {
    tell(owner_, peer_up_atom::value, *conns_.at(id).peer);
  }
}

void transport_core::close_all() {
  auto conns = std::move(conns_);
  conns_.clear();
  peers_.clear();
  for (auto& [id, c] : conns) {
    close_connection(id, c);
  }
}

void transport_core::close_links() {
  for (auto& [id, c] : conns_) {
    if (c.peer) {
      ctx_->links.erase(c.peer->node_id, c.link);
    }
    c.link->close();
  }
}

} // namespace troupe::cluster

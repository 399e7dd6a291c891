// The router: the name host of one node. It publishes the routing view,
// activates virtual actors on their first message, forwards what is not
// its own, and moves actors' state when partitions change hands.
#include "router.hpp"

#include "../actors/crash_report.hpp"
#include "../supervision/atoms.hpp"
#include "../supervision/supervisor.hpp"
#include "atoms.hpp"
#include "errors.hpp"
#include "handoff_ledger.hpp"
#include "handoff_plan.hpp"
#include "message_bytes.hpp"
#include "name_table.hpp"
#include "relay.hpp"
#include "router_memory.hpp"
#include "transport.hpp"
#include "wire/codec.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <variant>

namespace troupe::cluster {

namespace {

using clock_type = std::chrono::steady_clock;

// Sends a reply (or an error) to a requester that waits with `mid`.
void reply_to(const caf::strong_actor_ptr& sender, caf::message_id mid,
              caf::message msg) {
  if (sender && mid.is_request()) {
    sender->enqueue(caf::make_mailbox_element(nullptr, mid.response_id(), {},
                                              std::move(msg)),
                    nullptr);
  }
}

void fail(const delivery& d, caf::error err) {
  reply_to(d.sender, d.mid, caf::make_message(std::move(err)));
}

// A reply waited for by a requester on this node, from another node.
struct pending_reply {
  caf::strong_actor_ptr sender;
  caf::message_id mid;
  clock_type::time_point deadline;
};

// A message from a peer that routed by a newer ring than ours.
struct early_message {
  std::string from;
  wire::routed msg;
  clock_type::time_point deadline;
};

// Handoff frames from a peer that moved by a newer ring than ours: kept,
// in the order they came, until our ring has caught up. Taken earlier, a
// partition this node does not own yet would be handed straight back.
struct early_handoff {
  std::string from;
  std::variant<wire::handoff_item, wire::handoff_done> body;
  clock_type::time_point deadline;

  std::uint64_t epoch() const {
    return std::visit([](const auto& x) { return x.epoch; }, body);
  }
};

using transfer = outgoing_transfer;

class router_state {
public:
  router_state(caf::event_based_actor* self, context_ptr ctx,
               caf::actor activations)
    : self_(self), ctx_(std::move(ctx)), log_(ctx_->log("router")),
      activations_(std::move(activations)), memory_(kept(*ctx_)),
      reported_epoch_(memory_->reported_epoch), transfers_(memory_->transfers),
      completed_(memory_->completed), ledger_(memory_->ledger),
      dormant_(memory_->dormant) {
    if (ctx_->metrics != nullptr) {
      transfers_gauge_ = &ctx_->metrics->add_gauge(
        "troupe_cluster_transfers", "Partitions this node is handing off");
      awaited_gauge_ = &ctx_->metrics->add_gauge(
        "troupe_cluster_partitions_awaited",
        "Partitions this node gained and waits to be handed");
    }
  }

  ~router_state() {
    if (transfers_gauge_ != nullptr) {
      transfers_gauge_->set(0);
      awaited_gauge_->set(0);
    }
  }

  caf::behavior make_behavior();

private:
  const std::string& me() const {
    return ctx_->node_id;
  }
  std::uint64_t epoch() const {
    return view_.current.epoch();
  }
  std::chrono::milliseconds handoff_timeout() const {
    return ctx_->settings.handoff_timeout;
  }

  void gauge_transfers() {
    if (transfers_gauge_ != nullptr) {
      transfers_gauge_->set(static_cast<std::int64_t>(transfers_.size()));
      awaited_gauge_->set(static_cast<std::int64_t>(incoming_.size()));
    }
  }

  void count(const char* name, std::uint64_t& field) {
    ++field;
    if (ctx_->metrics != nullptr) {
      ctx_->metrics->add_counter(name, "routing by name").inc();
    }
  }

  bool send_route(const std::string& node, wire::route r) {
    return send_frame(*ctx_, node, wire::frame{std::move(r)});
  }

  // -- the view -------------------------------------------------------------

  void on_view(routing_view v) {
    v.self = me();
    v.index();
    if (view_.quorum && !v.quorum) {
      suspend_all();
    }
    const bool new_ring = !v.current.empty()
                          && (view_.current.empty()
                              || v.current.epoch() > epoch());
    // The first ring a router sees (at a node's start, or after a restart)
    // is not a change it takes part in: its handoffs were made to this
    // node's previous life, and waiting for them would stall its names.
    if (new_ring && !view_.current.empty()) {
      hold_incoming(v);
    }
    view_ = std::move(v);
    ctx_->set_routing(std::make_shared<const routing_view>(view_));
    if (new_ring) {
      plan_ownership_transfers();
      // Transfers of earlier rings cannot matter any more.
      std::erase_if(completed_,
                    [this](const auto& k) { return std::get<1>(k) < epoch(); });
    }
    retry_early_handoffs();
    release_stalled_incoming();
    plan_fallback_transfers();
    retry_early_messages();
    start_transfers();
  }

  // Partitions this node gains from a live previous owner wait for that
  // owner's handoff before anything is delivered here.
  void hold_incoming(const routing_view& v) {
    auto plan = plan_arrival(v, me(),
                             [this](const std::string& from, std::uint64_t ep,
                                    std::uint32_t p) {
                               return completed_.count({from, ep, p}) > 0;
                             });
    // A handoff of an earlier ring that no longer brings the partition
    // here: stop waiting for it.
    for (auto i = incoming_.begin(); i != incoming_.end();) {
      if (v.current.owner(i->first) != me()) {
        release(i->first);
        i = incoming_.erase(i);
      } else {
        ++i;
      }
    }
    for (auto p : plan.owned) {
      ctx_->names->move_in(p);
    }
    for (const auto& [p, from] : plan.awaited) {
      ctx_->names->hold(p);
      incoming_[p] = {from, v.current.epoch(), self_->clock().now()};
    }
    gauge_transfers();
  }

  // Gives up waiting for a previous owner that is gone or too slow.
  void release_stalled_incoming() {
    auto now = self_->clock().now();
    for (auto i = incoming_.begin(); i != incoming_.end();) {
      const auto& [from, ep, since] = i->second;
      bool gone = !view_.is_available(from);
      bool late = now - since > 6 * handoff_timeout();
      if (gone || late) {
        log_->warn("event=handoff.give_up partition={} from={} reason={}",
                   i->first, from, gone ? "unavailable" : "timeout");
        release(i->first);
        i = incoming_.erase(i);
      } else {
        ++i;
      }
    }
    gauge_transfers();
  }

  void release(std::uint32_t p) {
    for (auto& name : ctx_->names->release(p)) {
      activate(name);
    }
  }

  void plan_ownership_transfers() {
    auto parts = partitions_to_hand_over(view_.current, me());
    for (auto p : parts) {
      queue_transfer(p, true);
    }
    if (parts.empty()) {
      report_handed_off();
    }
  }

  // A fallback hands back what it hosts once the partition's target is
  // another node again.
  void plan_fallback_transfers() {
    if (view_.current.empty()) {
      return;
    }
    std::set<std::uint32_t> parts;
    for (const auto& [name, a] : ctx_->names->activations()) {
      parts.insert(view_.current.partition_of_name(name));
    }
    hand_on(std::move(parts));
  }

  // State kept here for names whose partition is another node's goes on
  // to it: state handed here as a fallback, or while this node was handing
  // the partition away, or after its transfer had left. (Without quorum
  // it stays: this side hands nothing around.)
  void hand_on(std::set<std::uint32_t> parts = {}) {
    if (view_.current.empty() || !view_.quorum) {
      return;
    }
    for (const auto& [name, state] : dormant_) {
      parts.insert(view_.current.partition_of_name(name));
    }
    for (auto p : partitions_to_hand_back(view_, me(), parts)) {
      queue_transfer(p, false);
    }
  }

  void report_handed_off() {
    bool pending = std::any_of(
      transfers_.begin(), transfers_.end(), [this](const auto& kv) {
        return kv.second.ownership && kv.second.epoch <= epoch();
      });
    if (!pending && reported_epoch_ < epoch()) {
      reported_epoch_ = epoch();
      self_->send(ctx_->membership(), handed_off_atom::value, epoch());
    }
  }

  // -- outgoing transfers ---------------------------------------------------

  void queue_transfer(std::uint32_t p, bool ownership) {
    auto& t = transfers_[p];
    gauge_transfers();
    if (t.started && t.epoch == epoch()) {
      t.ownership = t.ownership || ownership;
      return;
    }
    if (!t.started) {
      t.partition = p;
      t.epoch = epoch();
      t.ownership = t.ownership || ownership;
    }
  }

  // Starts waiting transfers up to the concurrency limit. Starting one may
  // finish it at once and change `transfers_` (even start others from
  // within): the waiting ones are listed first and looked up one by one.
  void start_transfers() {
    std::vector<std::uint32_t> waiting;
    for (const auto& [p, t] : transfers_) {
      if (!t.started) {
        waiting.push_back(p);
      }
    }
    for (auto p : waiting) {
      std::size_t running = 0;
      for (const auto& [q, t] : transfers_) {
        running += t.started ? 1 : 0;
      }
      if (running >= ctx_->settings.handoff_concurrency) {
        return;
      }
      if (auto i = transfers_.find(p);
          i != transfers_.end() && !i->second.started) {
        start_transfer(i->second);
      }
    }
  }

  std::string destination(const transfer& t) const {
    return transfer_destination(view_, me(), t.partition, t.ownership);
  }

  void start_transfer(transfer& t) {
    t.to = destination(t);
    if (t.to.empty() || t.to == me()) {
      // Nobody to give it to (or it came back): keep it.
      auto p = t.partition;
      bool ownership = t.ownership;
      transfers_.erase(p);
      gauge_transfers();
      if (ownership) {
        report_handed_off();
      }
      return;
    }
    t.started = true;
    t.epoch = epoch();
    t.id = transfer_id(ctx_->incarnation, ++ctx_->transfers_started);
    ctx_->names->hold(t.partition);
    for (auto i = dormant_.begin(); i != dormant_.end();) {
      if (view_.current.partition_of_name(i->first) == t.partition) {
        for (auto& state : i->second) {
          add_item(t, i->first, std::move(state));
        }
        i = dormant_.erase(i);
      } else {
        ++i;
      }
    }
    auto actors = ctx_->names->activations(t.partition);
    t.total = actors.size() + t.items.size();
    log_->info("event=handoff.start partition={} epoch={} to={} actors={} "
               "transfer={:x}",
               t.partition, t.epoch, t.to, t.total, t.id);
    for (const auto& [name, a] : actors) {
      export_actor(name,
                   [this, p = t.partition, name](std::string state, bool ok) {
                     auto i = transfers_.find(p);
                     if (i == transfers_.end()) {
                       return;
                     }
                     auto& tr = i->second;
                     if (ok) {
                       add_item(tr, name, std::move(state));
                     }
                     if (--tr.exporting == 0) {
                       finish_export(tr);
                     }
                   });
      ++t.exporting;
    }
    if (t.exporting == 0) {
      finish_export(t);
    }
  }

  // Adds an actor's state to a transfer, numbered in it, if it fits.
  void add_item(transfer& t, const std::string& name, std::string state) {
    wire::handoff_item item{.epoch = t.epoch,
                            .partition = t.partition,
                            .name = name,
                            .state = std::move(state),
                            .transfer = t.id,
                            .sequence
                            = static_cast<std::uint32_t>(t.items.size())};
    if (fits(item)) {
      t.items.push_back(std::move(item));
    }
  }

  // Whether a handoff item fits in one frame. One that does not cannot
  // move (sent, its receiver would drop the connection and everything
  // queued on it, again at every retry): it is left out with an error that
  // names the actor and the limit, and the new owner starts it afresh.
  bool fits(const wire::handoff_item& item) {
    auto size = wire::encode(wire::frame{wire::route{item}}).size();
    if (size <= ctx_->settings.max_frame_bytes) {
      return true;
    }
    log_->error("event=handoff.state_too_large name={} bytes={} limit={} "
                "(cluster.max_frame_bytes): the state is not handed off",
                item.name, item.state.size(), ctx_->settings.max_frame_bytes);
    count("troupe_cluster_handoff_states_too_large_total", states_too_large_);
    return false;
  }

  // Asks `name`'s activation for its state, then stops it.
  template <class F>
  void export_actor(const std::string& name, F done) {
    auto a = ctx_->names->begin_export(name);
    if (!a) {
      done({}, false);
      return;
    }
    self_->request(a, handoff_timeout(), handoff_atom::value)
      .then(
        [this, a, done](std::string& state) mutable {
          self_->send_exit(a, caf::exit_reason::user_shutdown);
          done(std::move(state), true);
        },
        [this, a, name, done](caf::error& err) mutable {
          log_->warn("event=handoff.export_failed name={} reason={}", name,
                     self_->system().render(err));
          self_->send_exit(a, caf::exit_reason::user_shutdown);
          done({}, false);
        });
  }

  // Items, then what waited meanwhile (forwarded), then done: the receiver
  // sees them in this order over the one connection.
  void finish_export(transfer& t) {
    if (destination(t) == me()) {
      // The partition came back while its actors were exported: keep them.
      auto p = t.partition;
      for (auto& item : t.items) {
        keep_dormant(item.name, std::move(item.state));
      }
      transfers_.erase(p);
      gauge_transfers();
      ctx_->names->move_in(p);
      release(p);
      report_handed_off();
      start_transfers();
      return;
    }
    bool delivered = send_items(t);
    for (auto& d : ctx_->names->move_out(t.partition)) {
      forward_delivery(t.to, std::move(d), true);
    }
    delivered = send_done(t) && delivered;
    t.sent = true;
    t.resend_at = next_try(self_->clock().now(), delivered);
    ++t.attempts;
    count("troupe_cluster_handoffs_out_total", stats_.handoffs_out);
  }

  bool send_done(const transfer& t) {
    return send_route(
      t.to,
      {wire::handoff_done{.epoch = t.epoch,
                          .partition = t.partition,
                          .items = static_cast<std::uint32_t>(t.items.size()),
                          .transfer = t.id,
                          .open_from = open_from()}});
  }

  // The oldest transfer not acknowledged yet (receivers forget those
  // below it), or the next id when none is open.
  std::uint64_t open_from() const {
    auto oldest = transfer_id(ctx_->incarnation, ctx_->transfers_started + 1);
    for (const auto& [p, t] : transfers_) {
      if (t.started) {
        oldest = std::min(oldest, t.id);
      }
    }
    return oldest;
  }

  // Sends a transfer's items; false if some did not leave (no connection).
  bool send_items(const transfer& t) {
    bool delivered = true;
    for (const auto& item : t.items) {
      delivered = send_route(t.to, {item}) && delivered;
    }
    return delivered;
  }

  // When the watchdog tries a sent transfer again: after the handoff
  // timeout, or at its next tick when the frames found no connection (the
  // new owner is not connected yet; nothing is on its way to wait for).
  clock_type::time_point next_try(clock_type::time_point sent,
                                  bool delivered) const {
    return delivered ? sent + handoff_timeout() : sent;
  }

  // The receiver has applied the transfer (this time or before).
  void on_ack(const std::string& from, const wire::handoff_ack& a) {
    auto i = transfers_.find(a.partition);
    if (i == transfers_.end() || !i->second.started
        || i->second.id != a.transfer) {
      return;
    }
    log_->info("event=handoff.done partition={} epoch={} to={} items={} "
               "transfer={:x}",
               a.partition, a.epoch, from, i->second.items.size(), a.transfer);
    transfers_.erase(i);
    gauge_transfers();
    report_handed_off();
    // What came here for the partition while it was under way (a fallback
    // activation, handed state) goes after it now.
    plan_fallback_transfers();
    start_transfers();
  }

  // The watchdog: a transfer not acknowledged in time is sent again (to
  // the partition's current target).
  void retry_transfers() {
    auto now = self_->clock().now();
    for (auto& [p, t] : transfers_) {
      if (!t.sent || now < t.resend_at) {
        continue;
      }
      auto to = transfer_destination(view_, me(), p, t.ownership, t.to);
      log_->warn("event=handoff.retry partition={} epoch={} to={} "
                 "attempt={}",
                 p, t.epoch, to, t.attempts + 1);
      if (to.empty() || to == me()) {
        for (auto& item : t.items) {
          keep_dormant(item.name, std::move(item.state));
        }
        ctx_->names->move_in(p);
        t.items.clear();
        t.to.clear(); // dropped below
        continue;
      }
      t.to = to;
      bool delivered = send_items(t);
      delivered = send_done(t) && delivered;
      t.resend_at = next_try(now, delivered);
      ++t.attempts;
    }
    auto dropped = std::erase_if(transfers_, [](const auto& kv) {
      return kv.second.sent && kv.second.to.empty();
    });
    if (dropped > 0) {
      report_handed_off();
    }
  }

  // -- incoming handoff -----------------------------------------------------

  // Keeps a handoff frame of a newer ring (or one behind such a frame from
  // the same peer) for later; false if it can be taken now.
  template <class Frame>
  bool keep_early(const std::string& from, Frame& f) {
    bool behind
      = std::any_of(early_handoffs_.begin(), early_handoffs_.end(),
                    [&from](const auto& e) { return e.from == from; });
    if (!behind && f.epoch <= epoch()) {
      return false;
    }
    early_handoffs_.push_back(
      {.from = from,
       .body = std::move(f),
       .deadline = self_->clock().now() + 6 * handoff_timeout()});
    return true;
  }

  // Takes the kept handoff frames our ring has caught up with (or that
  // waited too long), each peer's in order.
  void retry_early_handoffs() {
    auto now = self_->clock().now();
    auto waiting = std::move(early_handoffs_);
    early_handoffs_.clear();
    std::set<std::string> blocked;
    for (auto& e : waiting) {
      if (blocked.count(e.from) == 0
          && (e.epoch() <= epoch() || now >= e.deadline)) {
        std::visit(
          [this, &e](auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, wire::handoff_item>) {
              on_item(e.from, std::move(body));
            } else {
              on_done(e.from, body);
            }
          },
          e.body);
      } else {
        blocked.insert(e.from);
        early_handoffs_.push_back(std::move(e));
      }
    }
  }

  // Items wait in the ledger for their transfer's done.
  void on_item(const std::string& from, wire::handoff_item item) {
    if (item.transfer == 0) {
      log_->warn("event=handoff.refused from={} partition={} reason=\"no "
                 "transfer id\"",
                 from, item.partition);
      return;
    }
    ledger_.add(from, std::move(item), self_->clock().now());
  }

  // A whole transfer is applied, once: each state merged into its running
  // actor or kept for the name's start. One resent after that is only
  // acknowledged again; one with items missing is not acknowledged, so
  // that its sender sends it again.
  void on_done(const std::string& from, const wire::handoff_done& d) {
    auto r = ledger_.done(from, d, self_->clock().now());
    if (r.what == handoff_ledger::outcome::incomplete) {
      log_->warn("event=handoff.incomplete from={} partition={} epoch={} "
                 "transfer={:x} missing={}",
                 from, d.partition, d.epoch, d.transfer, r.missing);
      return;
    }
    send_route(from, {wire::handoff_ack{.epoch = d.epoch,
                                        .partition = d.partition,
                                        .transfer = d.transfer}});
    if (r.what == handoff_ledger::outcome::repeat) {
      return;
    }
    // Not into one that is handing its state off: it answers its export
    // before it would see this. Kept, the state goes where the name goes.
    auto running = ctx_->names->serving();
    for (auto& item : r.items) {
      if (auto i = running.find(item.name); i != running.end()) {
        self_->send(i->second, handoff_atom::value, std::move(item.state));
      } else {
        keep_dormant(item.name, std::move(item.state));
      }
    }
    completed_.insert({from, d.epoch, d.partition});
    count("troupe_cluster_handoffs_in_total", stats_.handoffs_in);
    auto i = incoming_.find(d.partition);
    if (i != incoming_.end() && std::get<0>(i->second) == from) {
      incoming_.erase(i);
      release(d.partition);
      gauge_transfers();
    }
    hand_on();
    start_transfers();
  }

  // -- routing ----------------------------------------------------------------

  // Without quorum this side hosts nothing: every activation stops, its
  // state kept here (dormant). Back with quorum, a dormant name starts from
  // it on its next message; handed over, if its partition went elsewhere.
  void suspend_all() {
    auto running = ctx_->names->activations();
    log_->warn("event=route.suspend reason=no_quorum actors={}",
               running.size());
    for (const auto& [name, a] : running) {
      export_actor(name, [this, name](std::string state, bool ok) {
        if (ok) {
          keep_dormant(name, std::move(state));
        }
      });
    }
  }

  void keep_dormant(const std::string& name, std::string state) {
    dormant_[name].push_back(std::move(state));
  }

  void refuse(const delivery& d) {
    count("troupe_cluster_route_no_quorum_total", stats_.no_quorum);
    fail(d, no_quorum_error(d.name));
  }

  // Delivers a message from this node here, or sends it to the node that
  // should have it.
  void route(delivery d) {
    if (view_.current.empty()) {
      count("troupe_cluster_route_failed_total", stats_.failed);
      fail(d, caf::make_error(errc::no_route, "no ring yet"));
      return;
    }
    if (!view_.quorum) {
      refuse(d);
      return;
    }
    auto p = view_.current.partition_of_name(d.name);
    const auto& to = view_.target(p);
    if (to == me()) {
      deliver_here(p, std::move(d));
    } else if (to.empty()) {
      count("troupe_cluster_route_failed_total", stats_.failed);
      fail(d,
           caf::make_error(errc::no_route, "no node available for " + d.name));
    } else {
      forward_delivery(to, std::move(d), false);
    }
  }

  void deliver_here(std::uint32_t p, delivery d) {
    auto name = d.name;
    switch (ctx_->names->deliver(p, std::move(d))) {
      case delivery_outcome::activate:
        activate(name);
        [[fallthrough]];
      case delivery_outcome::delivered:
      case delivery_outcome::buffered:
        count("troupe_cluster_route_local_total", stats_.delivered_locally);
        return;
      case delivery_outcome::not_here:
        break;
    }
    // Lost the race with a handoff: the view knows where it is now.
    log_->debug("event=route.moved name={} partition={}", name, p);
    const auto& to = view_.target(p);
    if (to != me() && !to.empty()) {
      forward_delivery(to, std::move(d), false);
    } else {
      ctx_->names->move_in(p);
      deliver_here(p, std::move(d));
    }
  }

  void forward_delivery(const std::string& to, delivery d, bool from_previous) {
    auto bytes = to_bytes(self_->system(), d.msg);
    if (!bytes) {
      count("troupe_cluster_route_failed_total", stats_.failed);
      fail(d, std::move(bytes.error()));
      return;
    }
    wire::routed r{.name = d.name,
                   .message = std::move(*bytes),
                   .epoch = epoch(),
                   .from_previous = from_previous};
    if (d.sender && d.mid.is_request()) {
      r.origin = me();
      r.request_id = ++next_request_;
      pending_[r.request_id] = {d.sender, d.mid,
                                self_->clock().now() + relay_lifetime};
    }
    auto id = r.request_id;
    if (auto why = send_or_why(to, {std::move(r)}); !why.empty()) {
      // Said at once, not left to the requester's timeout.
      pending_.erase(id);
      count("troupe_cluster_route_failed_total", stats_.failed);
      fail(d, unsent_error(d.name, why));
      return;
    }
    count("troupe_cluster_route_remote_total", stats_.sent_remote);
  }

  // Sends a routed message; empty, or why it was not sent.
  std::string send_or_why(const std::string& to, wire::route r) {
    return describe(try_send_frame(*ctx_, to, wire::frame{std::move(r)}), *ctx_,
                    to);
  }

  caf::error unsent_error(const std::string& name, const std::string& why) {
    log_->warn("event=route.unsent name={} reason=\"{}\"", name, why);
    return caf::make_error(errc::no_route,
                           fmt::format("{} not sent: {}", name, why));
  }

  void on_routed(const std::string& from, wire::routed r) {
    if (r.epoch > epoch()) {
      early_.push_back(
        {from, std::move(r), self_->clock().now() + handoff_timeout()});
      return;
    }
    if (view_.current.empty()) {
      send_error(r, caf::make_error(errc::no_route, "no ring yet"));
      return;
    }
    if (!view_.quorum) {
      count("troupe_cluster_route_no_quorum_total", stats_.no_quorum);
      send_error(r, no_quorum_error(r.name));
      return;
    }
    auto p = view_.current.partition_of_name(r.name);
    const auto& to = view_.target(p);
    if (to != me() && !(to.empty() && r.from_previous)) {
      forward_routed(std::move(r), to);
      return;
    }
    auto msg = from_bytes(self_->system(), r.message);
    if (!msg) {
      log_->warn("event=route.bad_message from={} name={} reason={}", from,
                 r.name, self_->system().render(msg.error()));
      send_error(r, msg.error());
      return;
    }
    delivery d{
      .name = r.name, .msg = std::move(*msg), .from_previous = r.from_previous};
    if (r.origin == me() && r.request_id != 0) {
      // A request of this node's that came back (the node it went to
      // handed the name here): the reply goes straight to its requester.
      if (auto i = pending_.find(r.request_id); i != pending_.end()) {
        d.sender = std::move(i->second.sender);
        d.mid = i->second.mid;
        pending_.erase(i);
      }
    } else if (!r.origin.empty() && r.request_id != 0) {
      d.sender = caf::actor_cast<caf::strong_actor_ptr>(spawn_relay(
        self_->system(), ctx_, self_->address(), r.origin, r.request_id));
    }
    deliver_here(p, std::move(d));
  }

  // Not ours (any more): on to the node our view names, if hops are left.
  void forward_routed(wire::routed r, const std::string& to) {
    caf::error err;
    if (to.empty()) {
      err = caf::make_error(errc::no_route, "no node available for " + r.name);
    } else if (r.hops >= max_hops) {
      log_->warn("event=route.hops_exhausted name={} hops={}", r.name, r.hops);
      err = caf::make_error(errc::too_many_hops,
                            fmt::format("{} after {} hops", r.name, r.hops));
    }
    if (err) {
      count("troupe_cluster_route_failed_total", stats_.failed);
      send_error(r, err);
      return;
    }
    ++r.hops;
    r.epoch = epoch();
    auto copy = wire::routed{
      .name = r.name, .origin = r.origin, .request_id = r.request_id};
    if (auto why = send_or_why(to, {std::move(r)}); !why.empty()) {
      count("troupe_cluster_route_failed_total", stats_.failed);
      send_error(copy, unsent_error(copy.name, why));
      return;
    }
    count("troupe_cluster_route_forwarded_total", stats_.forwarded);
  }

  void send_error(const wire::routed& r, const caf::error& err) {
    if (r.origin.empty() || r.request_id == 0) {
      return;
    }
    wire::route_reply reply{.request_id = r.request_id,
                            .error
                            = wire::bounded_text(self_->system().render(err))};
    if (r.origin == me()) {
      on_reply(std::move(reply)); // its requester is here
    } else {
      send_route(r.origin, {std::move(reply)});
    }
  }

  void on_reply(wire::route_reply r) {
    auto i = pending_.find(r.request_id);
    if (i == pending_.end()) {
      return;
    }
    auto p = std::move(i->second);
    pending_.erase(i);
    if (!r.error.empty()) {
      reply_to(p.sender, p.mid,
               caf::make_message(caf::make_error(errc::no_route, r.error)));
      return;
    }
    auto msg = from_bytes(self_->system(), r.message);
    reply_to(p.sender, p.mid,
             msg ? std::move(*msg) : caf::make_message(std::move(msg.error())));
  }

  // Messages routed by a newer ring than ours go on once our ring has
  // caught up, or after a handoff timeout by the ring we have.
  void retry_early_messages() {
    auto now = self_->clock().now();
    auto waiting = std::move(early_);
    early_.clear();
    for (auto& e : waiting) {
      if (e.msg.epoch <= epoch() || now >= e.deadline) {
        e.msg.epoch = std::min(e.msg.epoch, epoch());
        on_routed(e.from, std::move(e.msg));
      } else {
        early_.push_back(std::move(e));
      }
    }
  }

  // -- activations ------------------------------------------------------------

  void activate(const std::string& name) {
    if (!view_.quorum) {
      for (auto& d : ctx_->names->activation_failed(name)) {
        refuse(d);
      }
      return;
    }
    auto kind = ctx_->kinds->find(kind_of_name(name));
    if (!kind) {
      log_->warn("event=route.unknown_kind name={}", name);
      for (auto& d : ctx_->names->activation_failed(name)) {
        count("troupe_cluster_route_failed_total", stats_.failed);
        fail(d, caf::make_error(errc::invalid_name,
                                "no kind registered for " + name));
      }
      return;
    }
    // The first state kept for it starts it; the others are merged in once
    // it runs, with any handed here meanwhile.
    std::string state;
    if (auto i = dormant_.find(name); i != dormant_.end()) {
      state = std::move(i->second.front());
      i->second.erase(i->second.begin());
      if (i->second.empty()) {
        dormant_.erase(i);
      }
    }
    self_
      ->request(activations_, caf::infinite,
                supervision::start_child_atom::value,
                caf::make_message(name, state))
      .then(
        [this, name](caf::actor& a) {
          count("troupe_cluster_activations_total", stats_.activations);
          self_->monitor(a);
          running_[a.address()] = name;
          // The other states kept for it (or handed here while it was
          // starting) are merged before it gets the messages that waited:
          // a read among them sees every state.
          if (auto i = dormant_.find(name); i != dormant_.end()) {
            for (auto& more : i->second) {
              self_->send(a, handoff_atom::value, std::move(more));
            }
            dormant_.erase(i);
          }
          ctx_->names->activated(name, a);
        },
        [this, name](caf::error& err) {
          log_->warn("event=route.activation_failed name={} reason={}", name,
                     self_->system().render(err));
          for (auto& d : ctx_->names->activation_failed(name)) {
            count("troupe_cluster_route_failed_total", stats_.failed);
            fail(d, err);
          }
        });
  }

  // The table outlives a router that crashes; the one that follows takes
  // it over: it watches the activations left running, calls off the
  // exports the last one had begun (those actors carry on), releases the
  // partitions it held, stops activations that started after it died (no
  // name leads to them: the reply to their start was lost), and then
  // starts those that messages wait for.
  void take_over() {
    auto start = ctx_->names->recover();
    for (const auto& [name, a] : ctx_->names->activations()) {
      self_->monitor(a);
      running_[a.address()] = name;
    }
    auto resumed = resume_transfers();
    if (running_.empty() && start.empty() && resumed == 0) {
      return; // a first start
    }
    log_->warn("event=router.take_over activations={} waiting={} "
               "transfers={} dormant={}",
               running_.size(), start.size(), resumed, dormant_.size());
    auto activate_waiting = [this, start] {
      for (const auto& name : start) {
        activate(name);
      }
    };
    self_
      ->request(activations_, caf::infinite,
                supervision::which_children_atom::value)
      .then(
        [this, activate_waiting](std::vector<supervision::child_info>& kids) {
          for (const auto& k : kids) {
            if (k.handle && running_.count(k.handle.address()) == 0) {
              log_->warn("event=router.orphan_stopped actor={}", k.handle.id());
              self_->send_exit(k.handle, caf::exit_reason::kill);
            }
          }
          activate_waiting();
        },
        [activate_waiting](caf::error&) { activate_waiting(); });
  }

  // The transfers the previous router left: one it had sent waits for its
  // acknowledgement as before (the watchdog sends it again if need be);
  // one still gathering starts again, with the states of the actors it had
  // already stopped (kept here meanwhile) and the actors whose export the
  // name table called off. Returns how many there are.
  std::size_t resume_transfers() {
    for (auto& [p, t] : transfers_) {
      if (t.sent || !t.started) {
        continue;
      }
      for (auto& item : t.items) {
        keep_dormant(item.name, std::move(item.state));
      }
      transfer again;
      again.partition = t.partition;
      again.epoch = t.epoch;
      again.ownership = t.ownership;
      t = std::move(again);
    }
    gauge_transfers();
    return transfers_.size();
  }

  void on_down(const caf::down_msg& dm) {
    auto i = running_.find(dm.source);
    if (i == running_.end()) {
      return;
    }
    auto name = i->second;
    running_.erase(i);
    if (ctx_->names->exited(name, dm.source)) {
      activate(name); // messages arrived while it stopped
    }
  }

  // Passivates activations that got nothing for `passivate_after`: their
  // state is kept here until the next message.
  void sweep_idle() {
    if (!ctx_->settings.passivate_after) {
      return;
    }
    auto idle = ctx_->names->idle_since_last_sweep();
    std::map<std::string, std::uint32_t> next;
    for (auto& name : idle) {
      auto n = idle_sweeps_[name] + 1;
      if (sweep_interval() * n >= *ctx_->settings.passivate_after) {
        export_actor(name, [this, name](std::string state, bool ok) {
          if (ok) {
            keep_dormant(name, std::move(state));
          }
          count("troupe_cluster_passivations_total", stats_.passivations);
        });
      } else {
        next[name] = n;
      }
    }
    idle_sweeps_ = std::move(next);
  }

  std::chrono::milliseconds sweep_interval() const {
    auto t = ctx_->settings.passivate_after.value_or(
      std::chrono::milliseconds{60000});
    return std::clamp(t / 4, std::chrono::milliseconds{50},
                      std::chrono::milliseconds{30000});
  }

  void tick() {
    retry_early_handoffs();
    retry_transfers();
    release_stalled_incoming();
    retry_early_messages();
    auto now = self_->clock().now();
    std::erase_if(pending_,
                  [now](const auto& kv) { return kv.second.deadline <= now; });
    // A transfer whose sender went quiet is sent again from the start, or
    // was given up (its sender keeps the state).
    if (auto n = ledger_.expire(now - 6 * handoff_timeout()); n > 0) {
      log_->warn("event=handoff.expired items={}", n);
    }
    // Not only when the view changes: a partition whose transfer was still
    // under way then is handed back once that one is through.
    plan_fallback_transfers();
    start_transfers();
  }

  std::vector<transfer_view> transfers() const {
    std::vector<transfer_view> out;
    for (const auto& [p, t] : transfers_) {
      out.push_back({.partition = p,
                     .epoch = t.epoch,
                     .to = t.to,
                     .exported = t.items.size(),
                     .total = t.total,
                     .sent = t.sent,
                     .attempts = t.attempts});
    }
    return out;
  }

  // The node's router memory, made by its first router.
  static std::shared_ptr<router_memory> kept(context& ctx) {
    if (!ctx.router_kept) {
      ctx.router_kept = std::make_shared<router_memory>();
    }
    return ctx.router_kept;
  }

  caf::event_based_actor* self_;
  context_ptr ctx_;
  std::shared_ptr<spdlog::logger> log_;
  caf::actor activations_;
  routing_view view_;
  // What outlives this router (`router_memory.hpp`), and names for its
  // parts.
  std::shared_ptr<router_memory> memory_;
  std::uint64_t& reported_epoch_;
  std::map<std::uint32_t, transfer>& transfers_;
  runtime::gauge* transfers_gauge_ = nullptr;
  runtime::gauge* awaited_gauge_ = nullptr;
  // partition → (from, epoch, since)
  std::map<std::uint32_t,
           std::tuple<std::string, std::uint64_t, clock_type::time_point>>
    incoming_;
  // (from, epoch, partition) of transfers applied here: a previous owner
  // that was done before this node saw the ring is not waited for.
  std::set<std::tuple<std::string, std::uint64_t, std::uint32_t>>& completed_;
  handoff_ledger& ledger_;
  std::uint64_t states_too_large_ = 0;
  // State of names not running here: what they left when passivated or
  // suspended, or what was handed here for them. Several states of one
  // name (handed here from different places) are all kept, and merged
  // when it starts or moves on: never one over another.
  std::map<std::string, std::vector<std::string>>& dormant_;
  std::map<caf::actor_addr, std::string> running_;
  std::map<std::string, std::uint32_t> idle_sweeps_;
  std::map<std::uint64_t, pending_reply> pending_;
  std::uint64_t next_request_ = 0;
  std::vector<early_message> early_;
  std::vector<early_handoff> early_handoffs_;
  routing_stats stats_;
};

caf::behavior router_state::make_behavior() {
  self_->set_down_handler([this](caf::down_msg& dm) { on_down(dm); });
  self_->set_default_handler(actors::unexpected_message_handler("router"));
  take_over();
  self_->request(ctx_->membership(), caf::infinite, view_atom::value)
    .then([this](routing_view& v) { on_view(std::move(v)); });
  auto tick_every = std::min(handoff_timeout() / 4, sweep_interval());
  self_->delayed_send(self_, tick_every, router_tick_atom::value);
  return {
    [this](view_atom, routing_view& v) { on_view(std::move(v)); },
    [this, tick_every](router_tick_atom) {
      tick();
      sweep_idle();
      self_->delayed_send(self_, tick_every, router_tick_atom::value);
    },
    [this](payload_atom, const std::string& from, wire::route& r) {
      std::visit(
        [this, &from](auto& body) {
          using T = std::decay_t<decltype(body)>;
          if constexpr (std::is_same_v<T, wire::routed>) {
            on_routed(from, std::move(body));
          } else if constexpr (std::is_same_v<T, wire::route_reply>) {
            on_reply(std::move(body));
          } else if constexpr (std::is_same_v<T, wire::handoff_item>) {
            if (!keep_early(from, body)) {
              on_item(from, std::move(body));
            }
          } else if constexpr (std::is_same_v<T, wire::handoff_done>) {
            if (!keep_early(from, body)) {
              on_done(from, body);
            }
          } else {
            on_ack(from, body);
          }
        },
        r.body);
    },
    [this](route_send_atom, std::string& name, caf::message& msg) {
      // Every one comes from `router_client::send`, counted there.
      auto slot = context::diverted_slot(name);
      route({.name = std::move(name), .msg = std::move(msg)});
      ctx_->diverted_routed(slot);
    },
    [this](route_req_atom, std::string& name, caf::message& msg) {
      auto rp = self_->make_response_promise();
      route({.name = std::move(name),
             .msg = std::move(msg),
             .sender = rp.source(),
             .mid = rp.id()});
    },
    [this](activate_atom, const std::string& name) { activate(name); },
    [this](transfers_atom) { return transfers(); },
    [this](stats_atom) {
      auto s = stats_;
      s.running = ctx_->names->activations().size();
      s.awaiting = incoming_.size();
      return s;
    },
  };
}

} // namespace

caf::expected<caf::actor> spawn_router(caf::actor_system& sys,
                                       const context_ptr& ctx,
                                       const caf::actor& activations) {
  // Sends diverted to a router that crashed died with its mailbox.
  ctx->reset_diverted();
  auto hdl = sys.spawn([ctx, activations](caf::event_based_actor* self) {
    auto st = std::make_shared<router_state>(self, ctx, activations);
    self->attach_functor([st] {});
    return st->make_behavior();
  });
  ctx->set_router(hdl);
  // Routing frames that arrived before this router ran wait in the
  // transport.
  if (auto transport = ctx->transport()) {
    caf::anon_send(transport, router_up_atom::value);
  }
  return hdl;
}

} // namespace troupe::cluster

// The membership actor: the node's copy of the cluster state, gossip
// merges, failure detection, leader housekeeping, persistence, events.
#include "membership_actor.hpp"

#include "../actors/crash_report.hpp"
#include "../runtime/atomic_file.hpp"
#include "../runtime/errors.hpp"
#include "atoms.hpp"
#include "capabilities.hpp"
#include "errors.hpp"
#include "phi_detector.hpp"
#include "router.hpp"
#include "transport.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>

namespace troupe::cluster {

namespace {

using clock_type = std::chrono::steady_clock;

// How many forgotten members a node keeps dialling (see `connect_all`).
constexpr std::size_t max_forgotten_dialled = 64;

struct peer_info {
  phi_detector detector;
  bool connected = false;
  /// Whether a connection to it ever came up; until then, `detector` runs
  /// from when this node learned of `incarnation`.
  bool ever_connected = false;
  std::uint64_t incarnation = 0;
  /// When its last heartbeat (or connection) came.
  clock_type::time_point heard{};
};

class membership_state : public std::enable_shared_from_this<membership_state> {
public:
  membership_state(caf::event_based_actor* self, context_ptr ctx,
                   caf::actor_addr parent)
    : self_(self), ctx_(std::move(ctx)), log_(ctx_->log("membership")),
      parent_(std::move(parent)), incarnation_(ctx_->incarnation),
      own_ticks_(phi()) {
    if (ctx_->metrics != nullptr) {
      convergence_ = &ctx_->metrics->add_histogram(
        "troupe_cluster_convergence_seconds",
        "Time from a change seen here until every member has seen it");
    }
  }

  caf::behavior make_behavior();

  // A crash writes nothing and says nothing: the state on disk is what
  // the last change saved.
  void on_exit() {
    if (ctx_->abrupt_stop) {
      return;
    }
    persist();
    caf::anon_send(ctx_->transport(), goodbye_atom::value);
  }

private:
  const std::string& me() const {
    return ctx_->node_id;
  }

  phi_settings phi() const {
    return {.threshold = ctx_->settings.phi_threshold,
            .acceptable_pause = ctx_->settings.acceptable_pause,
            .first_interval = ctx_->settings.heartbeat_interval};
  }

  void send_frame(const std::string& peer, wire::frame f) {
    cluster::send_frame(*ctx_, peer, f);
  }

  // -- start ------------------------------------------------------------------

  // This node's record as it joins, in its present incarnation.
  member own_record() const {
    return {.node_id = me(),
            .name = ctx_->name,
            .address = ctx_->advertised,
            .incarnation = incarnation_,
            .status = member_status::joining,
            .software = ctx_->software,
            .capabilities = ctx_->capabilities};
  }

  void boot() {
    load();
    if (const auto* known = g_.state.find(me());
        known == nullptr || known->incarnation < incarnation_) {
      // The point where this incarnation's record is added must lie past
      // any the previous one reached (the others may have seen changes it
      // made but did not get to save): else they would take the new record
      // for one they forgot. A boot's incarnation is above every earlier
      // one, so its counter starts above theirs.
      g_.state.raise_version(me(), incarnation_ << 32);
      g_.state.add(own_record(), me());
    }
    g_.seen = {me()};
    dirty_ = true;
    last_ = snapshot();
    publish_state();
    log_->info("event=member.join node={} incarnation={} known_members={}",
               ctx_->name, incarnation_, g_.state.members().size());
    self_->send(ctx_->transport(), owner_atom::value,
                caf::actor_cast<caf::actor>(self_));
    connect_all(false);
    self_->delayed_send(self_, ctx_->settings.heartbeat_interval,
                        heartbeat_tick_atom::value);
  }

  void load() {
    auto path = ctx_->data_dir / state_file_name;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return;
    }
    auto text = runtime::read_file(path);
    caf::expected<wire::persisted_state> st{caf::error{}};
    if (text) {
      st = wire::decode_persisted(
        reinterpret_cast<const std::uint8_t*>(text->data()), text->size());
    } else {
      st = std::move(text.error());
    }
    if (st && st->node_id != me()) {
      st = caf::make_error(errc::corrupt_state,
                           "it belongs to node " + st->node_id);
    }
    if (!st) {
      auto moved = runtime::set_aside(path);
      log_->error("event=state.corrupt file={} reason=\"{}\" moved_to={} "
                  "action=fresh_member",
                  path.string(), runtime::describe(st.error()),
                  moved ? moved->string() : "-");
      return;
    }
    g_ = std::move(st->gossip);
    // A node that rejoined at run time may have used incarnations above its
    // boot counter: never go back below them.
    incarnation_ = std::max(incarnation_, st->incarnation + 1);
    log_->info("event=state.load members={} version={}",
               g_.state.members().size(), to_string(g_.state.version()));
  }

  void persist() {
    if (!dirty_) {
      return;
    }
    // Written only if it will read back: a state the reader would refuse
    // keeps the last good file instead.
    auto bytes = wire::encode_checked(wire::persisted_state{
      .node_id = me(), .incarnation = incarnation_, .gossip = g_});
    if (!bytes) {
      log_->error("event=state.save_failed reason=\"{}\"",
                  runtime::describe(bytes.error()));
      return;
    }
    auto err = runtime::write_file_atomically(
      ctx_->data_dir / state_file_name,
      {reinterpret_cast<const char*>(bytes->data()), bytes->size()});
    if (err) {
      log_->error("event=state.save_failed reason=\"{}\"",
                  runtime::describe(err));
      return;
    }
    dirty_ = false;
  }

  // Dials every member not connected. Down, removed and forgotten members
  // are tried too, every tenth round: after a partition heals, this is how
  // the two sides find each other again (each then sees itself removed or
  // forgotten by the other and rejoins).
  void connect_all(bool retry_gone) {
    auto transport = ctx_->transport();
    auto dial = [&](const std::string& id, const runtime::endpoint& at) {
      if (auto p = peers_.find(id); p != peers_.end() && p->second.connected) {
        return;
      }
      self_->send(transport, connect_atom::value, runtime::to_string(at));
    };
    for (const auto& [id, m] : g_.state.members()) {
      if (id == me() || (m.status >= member_status::down && !retry_gone)) {
        continue;
      }
      dial(id, m.address);
    }
    if (retry_gone) {
      for (const auto& [id, at] : forgotten_) {
        if (g_.state.find(id) == nullptr) {
          dial(id, at);
        }
      }
    }
    if (connected_count() == 0) {
      for (const auto& seed : ctx_->seeds) {
        self_->send(transport, connect_atom::value, runtime::to_string(seed));
      }
    }
  }

  std::size_t connected_count() const {
    std::size_t n = 0;
    for (const auto& [id, p] : peers_) {
      n += p.connected ? 1 : 0;
    }
    return n;
  }

  // -- changes and events -----------------------------------------------------

  using view_map = std::map<std::string, std::pair<member, bool>>;

  view_map snapshot() const {
    view_map out;
    for (const auto& [id, m] : g_.state.members()) {
      out.emplace(id, std::make_pair(m, g_.state.is_unreachable(id)));
    }
    return out;
  }

  // A change made here (not merged from a peer): a new version only this
  // node has seen.
  void local_change() {
    g_.seen = {me()};
    after_change();
  }

  void after_change() {
    dirty_ = true;
    auto now = snapshot();
    remember_forgotten(now);
    for (const auto& [id, entry] : now) {
      const auto& [m, unreachable] = entry;
      auto old = last_.find(id);
      bool fresh = old == last_.end()
                   || old->second.first.incarnation != m.incarnation;
      if (fresh) {
        emit(member_event_kind::joined, m);
      }
      auto before = fresh ? member_status::joining : old->second.first.status;
      if (m.status != before || (fresh && m.status != member_status::joining)) {
        emit_status(m);
      }
      bool was_unreachable = !fresh && old->second.second;
      if (unreachable && !unreachable_since_.count(id)) {
        unreachable_since_[id] = self_->clock().now();
      } else if (!unreachable) {
        unreachable_since_.erase(id);
      }
      if (unreachable != was_unreachable) {
        emit(unreachable ? member_event_kind::unreachable
                         : member_event_kind::reachable,
             m);
      }
    }
    last_ = std::move(now);
    check_self();
    if (auto epoch = g_.state.current_ring().epoch(); epoch != ring_epoch_) {
      ring_epoch_ = epoch;
      ring_changed();
    }
    update_gauges();
    publish_view();
    publish_state();
    // Saved at once: a node killed right after a change still comes back
    // knowing whom to call.
    persist();
  }

  // Members that left the state (forgotten by the leader) stay dialable
  // from here for a while: see `connect_all`.
  void remember_forgotten(const view_map& now) {
    for (const auto& [id, entry] : last_) {
      if (!now.count(id) && id != me()) {
        // Taken from the leader's state: the removal was never seen here.
        if (entry.first.status != member_status::removed) {
          emit(member_event_kind::removed, entry.first);
        }
        std::erase_if(forgotten_,
                      [&id](const auto& f) { return f.first == id; });
        forgotten_.emplace_back(id, entry.first.address);
        unreachable_since_.erase(id);
      }
    }
    while (forgotten_.size() > max_forgotten_dialled) {
      forgotten_.pop_front();
    }
  }

  void emit_status(const member& m) {
    switch (m.status) {
      case member_status::joining:
        return;
      case member_status::up:
        emit(member_event_kind::up, m);
        return;
      case member_status::leaving:
        emit(member_event_kind::leaving, m);
        return;
      case member_status::exiting:
        emit(member_event_kind::exiting, m);
        return;
      case member_status::down:
        emit(member_event_kind::down, m);
        return;
      case member_status::removed:
        emit(member_event_kind::removed, m);
        return;
    }
  }

  void emit(member_event_kind kind, const member& m) {
    auto level = kind == member_event_kind::unreachable
                     || kind == member_event_kind::down
                   ? spdlog::level::warn
                   : spdlog::level::info;
    log_->log(level, "event=member.{} node={} incarnation={}", to_string(kind),
              m.name, m.incarnation);
    member_event ev{.kind = kind,
                    .node_id = m.node_id,
                    .name = m.name,
                    .incarnation = m.incarnation};
    for (const auto& s : subscribers_) {
      self_->send(s, ev);
    }
  }

  // A node that finds itself down or removed while it runs (say, after a
  // partition longer than down_after) rejoins as a new incarnation, unless
  // it left on purpose; so does one the others forgot (removed, and pruned
  // once every member saw it), which finds its own record gone when it
  // merges their state.
  void check_self() {
    const auto* m = g_.state.find(me());
    if (leaving_ || (m != nullptr && m->status < member_status::down)) {
      return;
    }
    if (m == nullptr) {
      auto forgotten = own_record();
      forgotten.status = member_status::removed;
      rejoin(forgotten);
      return;
    }
    rejoin(*m);
  }

  // Comes back as a new incarnation, joining.
  void rejoin(member again) {
    auto was = again.status;
    incarnation_ = again.incarnation + 1;
    again.incarnation = incarnation_;
    again.status = member_status::joining;
    again.announcement = {};
    again.software = ctx_->software;
    again.capabilities = ctx_->capabilities;
    log_->warn("event=member.rejoin node={} was={} incarnation={}", ctx_->name,
               to_string(was), incarnation_);
    g_.state.add(again, me());
    g_.seen = {me()};
    announce();
    after_change();
  }

  void update_gauges() {
    if (ctx_->metrics == nullptr) {
      return;
    }
    std::map<member_status, std::int64_t> counts;
    for (const auto& [id, m] : g_.state.members()) {
      ++counts[m.status];
    }
    for (auto s : {member_status::joining, member_status::up,
                   member_status::leaving, member_status::exiting,
                   member_status::down, member_status::removed}) {
      ctx_->metrics
        ->add_gauge("troupe_cluster_members", "Members by status",
                    {{"status", to_string(s)}})
        .set(counts[s]);
    }
  }

  // Tells subscribers, and counts partitions per node.
  void ring_changed() {
    const auto& r = g_.state.current_ring();
    log_->info("event=ring.changed epoch={} partitions={}", r.epoch(),
               r.size());
    auto by = g_.state.leader().value_or(std::string{});
    const auto* leader = g_.state.find(by);
    member_event ev{.kind = member_event_kind::ring_changed,
                    .node_id = by,
                    .name = leader != nullptr ? leader->name : std::string{},
                    .ring_epoch = r.epoch()};
    for (const auto& s : subscribers_) {
      self_->send(s, ev);
    }
    if (ctx_->metrics == nullptr) {
      return;
    }
    auto counts = r.counts();
    for (const auto& [id, m] : g_.state.members()) {
      auto i = counts.find(id);
      ctx_->metrics
        ->add_gauge("troupe_cluster_ring_partitions", "Partitions by owner",
                    {{"node", m.name}})
        .set(i == counts.end() ? 0 : i->second);
    }
  }

  void announce() {
    g_.state.announce(me(), {.services = services_,
                             .draining = draining_,
                             .handoff_epoch = handed_off_});
  }

  // What the router routes by: the ring and who takes traffic.
  routing_view view() const {
    routing_view v;
    v.current = g_.state.current_ring();
    v.self = me();
    v.quorum = quorum().quorum;
    for (const auto& [id, m] : g_.state.members()) {
      // A draining or leaving member takes its traffic until the ring no
      // longer gives it partitions, and then hands them over: every node
      // routes by the ring, so they agree on where its names go.
      if ((m.status == member_status::up || m.status == member_status::leaving)
          && !g_.state.is_unreachable(id)) {
        v.available.insert(id);
      }
      if (m.is_active()) {
        v.active.insert(id);
      }
    }
    // Owning partitions means the leader has moved this node up, even if
    // the news has not come back yet: it takes its own traffic (else the
    // others and it would pass messages back and forth).
    const auto* self = g_.state.find(me());
    auto owners = v.current.members();
    if (self != nullptr && self->is_active()
        && std::binary_search(owners.begin(), owners.end(), me())) {
      v.available.insert(me());
    }
    v.index();
    return v;
  }

  void publish_view() {
    note_quorum();
    if (auto r = ctx_->router()) {
      self_->send(r, view_atom::value, view());
    }
  }

  // Logs when this node's side loses or regains quorum.
  void note_quorum() {
    auto q = quorum();
    if (q.quorum == had_quorum_) {
      return;
    }
    had_quorum_ = q.quorum;
    if (q.quorum) {
      log_->warn("event=quorum.regained reachable={} members={}", q.reachable,
                 q.members);
    } else if (unsure_) {
      log_->warn("event=quorum.lost reason=own_pause action=\"downs nobody, "
                 "serves no names\"");
    } else {
      log_->error("event=quorum.lost reachable={} members={} strategy={} "
                  "action=\"downs nobody, serves no names\"",
                  q.reachable, q.members,
                  runtime::to_string(ctx_->settings.split_brain));
    }
  }

  // -- failure detection ------------------------------------------------------

  // Runs the health checks; a service whose health changed is announced.
  void run_checks() {
    bool changed = false;
    for (const auto& [name, check] : checks_) {
      bool healthy = false;
      try {
        healthy = check();
      } catch (...) {
        healthy = false; // a failing check is an unhealthy service
      }
      if (auto& up = services_[name]; up != healthy) {
        up = healthy;
        changed = true;
        log_->info("event=service.{} name={}", healthy ? "up" : "down", name);
      }
    }
    if (changed) {
      announce();
      local_change();
    }
  }

  void heartbeat_tick() {
    run_checks();
    auto now = self_->clock().now();
    note_own_pause(now);
    for (const auto& [id, p] : peers_) {
      if (p.connected) {
        send_frame(id, wire::heartbeat{.sequence = ++heartbeats_});
      }
    }
    check_reachability(now);
    self_->delayed_send(self_, ctx_->settings.heartbeat_interval,
                        heartbeat_tick_atom::value);
  }

  // A tick much later than asked for means this process did not run
  // (stopped, frozen, starved), and it is judged as the others judge its
  // heartbeats: by a detector of its own ticks. Past that, the others may
  // have flagged it and handed its names to fallbacks: it serves no names
  // (it has no quorum, as far as it knows) until it has heard again from
  // more than half of the members. Its own detectors measured a silence
  // that was its own: on those it would flag every member and, since
  // quorum counts the members nobody flags, take quorum from every node.
  // They start afresh, and it flags nobody new for a while.
  void note_own_pause(clock_type::time_point now) {
    if (last_tick_ && !own_ticks_.is_available(now)) {
      auto paused = std::chrono::duration_cast<std::chrono::milliseconds>(
        now - *last_tick_);
      log_->warn("event=node.paused ms={} action=\"serves no names until "
                 "it hears from a majority, flags nobody for {} ms\"",
                 paused.count(), own_pause_grace().count());
      for (auto& [id, p] : peers_) {
        p.detector = phi_detector{phi()};
        p.detector.heartbeat(now);
      }
      own_ticks_ = phi_detector{phi()};
      quiet_until_ = now + own_pause_grace();
      unsure_ = true;
      resumed_at_ = now;
      publish_view();
      publish_state();
    } else if (quiet_until_ && now >= *quiet_until_) {
      quiet_until_.reset();
    }
    if (unsure_ && (!quiet_until_ || heard_from_majority())) {
      unsure_ = false;
      log_->info("event=node.resumed");
      publish_view();
      publish_state();
    }
    own_ticks_.heartbeat(now);
    last_tick_ = now;
  }

  // Whether more than half of the members quorum counts (itself included)
  // have been heard since it resumed: a heartbeat or a new connection at
  // least a heartbeat interval later (what waited while it was stopped
  // arrives at once, and is old news).
  bool heard_from_majority() const {
    auto counted = assess_quorum(g_.state, me(), ctx_->settings.split_brain);
    auto fresh = resumed_at_ + ctx_->settings.heartbeat_interval;
    std::size_t heard = 1;
    for (const auto& [id, p] : peers_) {
      const auto* m = g_.state.find(id);
      if (m != nullptr && m->status >= member_status::up
          && m->status <= member_status::leaving && p.heard >= fresh) {
        ++heard;
      }
    }
    return 2 * heard > counted.members;
  }

  std::chrono::milliseconds own_pause_grace() const {
    return ctx_->settings.acceptable_pause
           + 5 * ctx_->settings.heartbeat_interval;
  }

  void check_reachability(clock_type::time_point now) {
    bool changed = false;
    bool quiet = quiet_until_ && now < *quiet_until_;
    for (const auto& [id, m] : g_.state.members()) {
      if (id == me() || m.status >= member_status::down) {
        continue;
      }
      auto [at, fresh] = peers_.try_emplace(id, peer_info{phi_detector{phi()}});
      auto& p = at->second;
      // A member this node has never reached is watched from the moment it
      // learned of it, as if it had heard one heartbeat then: one it cannot
      // reach at all is suspected like one that fell silent.
      if (!p.ever_connected && (fresh || p.incarnation != m.incarnation)) {
        p.detector = phi_detector{phi()};
        p.detector.heartbeat(now);
        p.incarnation = m.incarnation;
      }
      bool suspect = p.connected
                       ? !p.detector.is_available(now)
                       : p.ever_connected || !p.detector.is_available(now);
      if (suspect && quiet) {
        continue; // a flag set before the pause stays
      }
      changed = g_.state.observe(me(), id, suspect) || changed;
    }
    if (changed) {
      local_change();
    }
  }

  // -- gossip -----------------------------------------------------------------

  wire::digest digest() const {
    return {.version = g_.state.version(), .seen = g_.seen};
  }

  void gossip_round(std::uint64_t random) {
    ++rounds_;
    std::vector<std::string> connected;
    for (const auto& [id, p] : peers_) {
      if (p.connected) {
        connected.push_back(id);
      }
    }
    if (auto peer = choose_gossip_peer(g_, me(), connected, random)) {
      send_frame(*peer, digest());
    }
    housekeeping();
    connect_all(rounds_ % 10 == 0);
    persist();
    publish_state();
  }

  // A node told to join through seeds that knows no other member yet: it
  // stays joining and does not act as the leader of a cluster of its own
  // (which would move itself up and claim a ring of its own, only for that
  // to be merged away, or worse win, when it reaches the seed).
  // Seeds naming this node itself (one list of seeds for every node of a
  // deployment) do not count.
  bool waiting_for_seed() const {
    if (g_.state.members().size() != 1) {
      return false;
    }
    return std::any_of(ctx_->seeds.begin(), ctx_->seeds.end(),
                       [this](const runtime::endpoint& seed) {
                         return seed != ctx_->advertised;
                       });
  }

  // The leader's decisions (a member up, exiting, down or removed; a new
  // ring) are rare and everyone acts on them, so the leader sends its state
  // to every connected peer instead of leaving it to gossip rounds.
  void broadcast_state() {
    for (const auto& [id, p] : peers_) {
      if (p.connected) {
        send_frame(id, wire::state{.gossip = g_});
      }
    }
  }

  void housekeeping() {
    // How long each member has been flagged unreachable (by anyone) as
    // this node's clock sees it: the leader may never have reached the
    // member itself.
    std::map<std::string, std::chrono::milliseconds> unreachable_for;
    auto now = self_->clock().now();
    for (const auto& [id, since] : unreachable_since_) {
      unreachable_for[id]
        = std::chrono::duration_cast<std::chrono::milliseconds>(now - since);
    }
    if (waiting_for_seed()) {
      return;
    }
    auto ring_epoch = g_.state.current_ring().epoch();
    auto done = leader_actions(g_, me(),
                               {.down_after = ctx_->settings.down_after,
                                .claim = {.ring_size = ctx_->settings.ring_size,
                                          .target_n = ctx_->settings.target_n},
                                .split_brain = ctx_->settings.split_brain},
                               unreachable_for);
    if (!done.empty() || g_.state.current_ring().epoch() != ring_epoch) {
      after_change();
      broadcast_state();
    }
    // After the changes above are told (a member removed is reported
    // removed before it is forgotten).
    if (may_forget() && pruned_removed()) {
      after_change();
      broadcast_state();
    }
    observe_convergence(converged(g_));
    if (converged(g_) && !converged_) {
      converged_ = true;
      log_->debug("event=gossip.converged version={}",
                  to_string(g_.state.version()));
    }
    publish_state();
  }

  // Whether every active member forgets removed members the same way.
  bool may_forget() const {
    std::vector<member> ms;
    for (const auto& [id, m] : g_.state.members()) {
      ms.push_back(m);
    }
    return negotiated_capabilities(ms).count(
             std::string{capability_forget_removed})
           > 0;
  }

  // The leader forgets removed members every member has seen removed.
  bool pruned_removed() {
    auto gone = forget_removed(g_, me());
    for (const auto& m : gone.members) {
      log_->info("event=member.forgotten node={} incarnation={}", m.name,
                 m.incarnation);
    }
    if (gone.observations > 0) {
      log_->debug("event=reachability.pruned observations={}",
                  gone.observations);
    }
    return !gone.members.empty() || gone.observations > 0;
  }

  cluster_snapshot current() const {
    return {.gossip = g_,
            .converged = converged(g_),
            .leader = g_.state.leader(),
            .rounds = rounds_,
            .quorum = quorum()};
  }

  quorum_view quorum() const {
    auto q = assess_quorum(g_.state, me(), ctx_->settings.split_brain);
    if (unsure_) {
      q.quorum = false; // just back from a pause of its own
    }
    return q;
  }

  // For observers that read without asking (see `context::cluster_state`).
  void publish_state() {
    ctx_->set_cluster_state(
      std::make_shared<const cluster_snapshot>(current()));
  }

  // Times how long the cluster takes to converge after this node sees a
  // change, for the `troupe_cluster_convergence_seconds` histogram.
  void observe_convergence(bool is_converged) {
    if (!is_converged) {
      if (!diverged_since_) {
        diverged_since_ = self_->clock().now();
      }
      return;
    }
    if (diverged_since_ && convergence_ != nullptr) {
      convergence_->observe(self_->clock().now() - *diverged_since_);
    }
    diverged_since_.reset();
  }

  // Sends the peer our digest when it lacks some of the members we know to
  // have seen our (equal) version, this one included: seen sets then spread
  // both ways on every exchange, not only on the rounds' digests.
  void tell_seen(const std::string& peer, const std::set<std::string>& theirs) {
    bool lacks = std::any_of(g_.seen.begin(), g_.seen.end(),
                             [&theirs](const std::string& id) {
                               return theirs.count(id) == 0;
                             });
    if (lacks) {
      send_frame(peer, digest());
    }
  }

  void on_digest(const std::string& peer, const wire::digest& d) {
    switch (g_.state.version().compare(d.version)) {
      case causal_order::same: {
        auto before = g_.seen.size();
        g_.seen.insert(d.seen.begin(), d.seen.end());
        g_.seen.insert(me());
        tell_seen(peer, d.seen);
        if (g_.seen.size() != before) {
          housekeeping();
        }
        return;
      }
      case causal_order::before:
        send_frame(peer, wire::state_request{});
        return;
      case causal_order::after:
        send_frame(peer, wire::state{.gossip = g_});
        return;
      case causal_order::concurrent:
        send_frame(peer, wire::state{.gossip = g_});
        send_frame(peer, wire::state_request{});
        return;
    }
  }

  void on_state(const std::string& peer, const gossip_state& remote) {
    auto before = g_.seen.size();
    auto outcome = receive_gossip(g_, remote, me());
    switch (outcome) {
      case gossip_outcome::same:
        tell_seen(peer, remote.seen);
        if (g_.seen.size() != before) {
          housekeeping();
        }
        return;
      case gossip_outcome::older:
        send_frame(peer, wire::state{.gossip = g_});
        return;
      case gossip_outcome::newer:
        tell_seen(peer, remote.seen);
        break;
      case gossip_outcome::merged:
        send_frame(peer, wire::state{.gossip = g_});
        break;
    }
    converged_ = false;
    log_->debug("event=gossip.merge peer={} outcome={} version={}", peer,
                to_string(outcome), to_string(g_.state.version()));
    after_change();
    housekeeping();
  }

  void on_frame(const std::string& peer, const wire::frame& f) {
    if (const auto* d = std::get_if<wire::digest>(&f)) {
      on_digest(peer, *d);
    } else if (const auto* s = std::get_if<wire::state>(&f)) {
      on_state(peer, s->gossip);
    } else if (std::holds_alternative<wire::state_request>(f)) {
      send_frame(peer, wire::state{.gossip = g_});
    } else if (std::holds_alternative<wire::heartbeat>(f)) {
      if (auto p = peers_.find(peer); p != peers_.end()) {
        p->second.detector.heartbeat(self_->clock().now());
        p->second.heard = self_->clock().now();
      }
    } else {
      log_->debug("event=frame.ignored peer={} kind={}", peer,
                  wire::kind_of(f));
    }
  }

  void on_peer_up(const wire::hello& h) {
    auto& p = peers_.try_emplace(h.node_id, peer_info{phi_detector{phi()}})
                .first->second;
    p.connected = true;
    p.ever_connected = true;
    p.detector = phi_detector{phi()};
    p.detector.heartbeat(self_->clock().now());
    p.heard = self_->clock().now();
    // Push our state at once: a joiner learns the cluster, and the cluster
    // learns the joiner, without waiting for a gossip round.
    send_frame(h.node_id, wire::state{.gossip = g_});
    check_reachability(self_->clock().now());
  }

  void on_peer_down(const std::string& id, bool goodbye) {
    if (auto p = peers_.find(id); p != peers_.end()) {
      p->second.connected = false;
    }
    log_->debug("event=peer.down node={} goodbye={}", id, goodbye);
    check_reachability(self_->clock().now());
  }

  // -- API --------------------------------------------------------------------

  std::vector<member_view> members() const {
    std::vector<member_view> out;
    auto leader = g_.state.leader();
    for (const auto& [id, m] : g_.state.members()) {
      out.push_back({.info = m,
                     .unreachable = g_.state.is_unreachable(id),
                     .leader = leader == id,
                     .self = id == me()});
    }
    return out;
  }

  caf::error down(const std::string& who) {
    for (const auto& [id, m] : g_.state.members()) {
      if (id == who || m.name == who) {
        if (!g_.state.transition(id, member_status::down, me())) {
          return caf::make_error(errc::protocol_violation,
                                 fmt::format("{} is {} and cannot go down",
                                             m.name, to_string(m.status)));
        }
        log_->warn("event=member.down node={} by=operator", m.name);
        local_change();
        return {};
      }
    }
    return caf::make_error(errc::no_such_member, who);
  }

  caf::event_based_actor* self_;
  context_ptr ctx_;
  std::shared_ptr<spdlog::logger> log_;
  caf::actor_addr parent_;
  std::uint64_t incarnation_;
  /// This node's own heartbeat ticks, judged as its peers judge them.
  phi_detector own_ticks_;
  gossip_state g_;
  view_map last_;
  std::map<std::string, peer_info> peers_;
  std::map<std::string, clock_type::time_point> unreachable_since_;
  /// Forgotten members' addresses, oldest first, at most
  /// `max_forgotten_dialled`.
  std::deque<std::pair<std::string, runtime::endpoint>> forgotten_;
  std::vector<caf::actor> subscribers_;
  std::map<std::string, bool> services_;
  std::map<std::string, health_check> checks_;
  bool draining_ = false;
  std::uint64_t handed_off_ = 0; // ring epoch handed off up to
  std::uint64_t ring_epoch_ = 0; // of the last ring_changed event
  bool leaving_ = false;
  bool had_quorum_ = true;
  bool dirty_ = false;
  bool converged_ = false;
  std::optional<clock_type::time_point> diverged_since_{};
  runtime::duration_histogram* convergence_ = nullptr;
  std::uint64_t heartbeats_ = 0;
  std::uint64_t rounds_ = 0;
  std::optional<clock_type::time_point> last_tick_{};
  /// After this node's own pause: no new suspicion before then.
  std::optional<clock_type::time_point> quiet_until_{};
  /// After this node's own pause, until it has heard from a majority: no
  /// quorum.
  bool unsure_ = false;
  clock_type::time_point resumed_at_{};
};

caf::behavior membership_state::make_behavior() {
  auto self = shared_from_this();
  self_->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->parent_) {
      self->self_->quit(dm.reason); // OTP's exit signal from the parent
      return;
    }
    auto& subs = self->subscribers_;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&dm](const caf::actor& a) {
                                return a.address() == dm.source;
                              }),
               subs.end());
  });
  self_->set_default_handler(actors::unexpected_message_handler("membership"));
  boot();
  return {
    [self](peer_up_atom, const wire::hello& h) { self->on_peer_up(h); },
    [self](peer_down_atom, const std::string& id, bool goodbye) {
      self->on_peer_down(id, goodbye);
    },
    [self](peer_frame_atom, const std::string& id, const wire::frame& f) {
      self->on_frame(id, f);
    },
    [self](heartbeat_tick_atom) { self->heartbeat_tick(); },
    [self](gossip_round_atom, std::uint64_t random) {
      self->gossip_round(random);
    },
    [self](members_atom) { return self->members(); },
    [self](state_atom) { return self->current(); },
    [self](join_atom, const std::string& target) -> caf::result<void> {
      auto ep = runtime::parse_endpoint(target);
      if (!ep || ep->port == 0) {
        return caf::make_error(errc::invalid_settings,
                               "expected host:port, got \"" + target + "\"");
      }
      if (self->leaving_) {
        // A node that has left joins again as a new incarnation; one still
        // handing off finishes its leave first.
        const auto* m = self->g_.state.find(self->me());
        if (m != nullptr && m->status == member_status::leaving) {
          return caf::make_error(errc::protocol_violation,
                                 "this node is still leaving (handing off); "
                                 "join once it has left");
        }
        self->leaving_ = false;
        auto again = m != nullptr ? *m : self->own_record();
        self->rejoin(again);
      }
      self->self_->send(self->ctx_->transport(), connect_atom::value,
                        runtime::to_string(*ep));
      return caf::unit;
    },
    [self](leave_atom) -> caf::result<void> {
      if (self->g_.state.transition(self->me(), member_status::leaving,
                                    self->me())) {
        self->leaving_ = true;
        self->local_change();
        self->housekeeping();
      }
      return caf::unit;
    },
    [self](down_atom, const std::string& who) -> caf::result<void> {
      if (auto err = self->down(who)) {
        return err;
      }
      self->housekeeping();
      return caf::unit;
    },
    [self](drain_atom, bool on) {
      self->draining_ = on;
      self->announce();
      self->local_change();
    },
    [self](service_atom, const std::string& name, bool up) {
      self->checks_.erase(name);
      self->services_[name] = up;
      self->announce();
      self->local_change();
    },
    [self](service_atom, const std::string& name, health_check& check) {
      self->checks_[name] = std::move(check);
      self->run_checks();
    },
    [self](view_atom) { return self->view(); },
    [self](handed_off_atom, std::uint64_t epoch) {
      if (epoch > self->handed_off_) {
        self->handed_off_ = epoch;
        self->announce();
        self->local_change();
        self->housekeeping();
      }
    },
    [self](subscribe_atom, const caf::actor& who) {
      self->self_->monitor(who);
      self->subscribers_.push_back(who);
    },
  };
}

} // namespace

std::string to_string(member_event_kind x) {
  switch (x) {
    case member_event_kind::joined:
      return "joined";
    case member_event_kind::up:
      return "up";
    case member_event_kind::leaving:
      return "leaving";
    case member_event_kind::exiting:
      return "exiting";
    case member_event_kind::unreachable:
      return "unreachable";
    case member_event_kind::reachable:
      return "reachable";
    case member_event_kind::down:
      return "down";
    case member_event_kind::removed:
      return "removed";
    case member_event_kind::ring_changed:
      return "ring_changed";
  }
  return "member_event_kind(?)";
}

caf::expected<caf::actor> spawn_membership(caf::actor_system& sys,
                                           const context_ptr& ctx,
                                           const caf::actor& parent) {
  auto hdl = sys.spawn([ctx, parent](caf::event_based_actor* self) {
    auto st = std::make_shared<membership_state>(self, ctx, parent.address());
    if (parent) {
      // Monitored, not linked, as every Troupe child.
      self->monitor(parent);
    }
    self->attach_functor([st](const caf::error&) { st->on_exit(); });
    return st->make_behavior();
  });
  ctx->set_membership(hdl);
  return hdl;
}

} // namespace troupe::cluster

// The simulated world: whole Troupe nodes (supervision tree, membership,
// gossip, failure detection, ring, router, handoff, the user's
// applications and kinds) in one thread, on virtual time and a simulated
// network, every run replayable from one seed.
#pragma once

#include "troupe/cluster/atoms.hpp"
#include "troupe/cluster/membership_actor.hpp"
#include "troupe/cluster/router_client.hpp"
#include "troupe/cluster/virtual_actor.hpp"
#include "troupe/runtime/config.hpp"
#include "troupe/runtime/system_config.hpp"
#include "troupe/supervision/application.hpp"
#include "troupe/testkit/sim_network.hpp"
#include "troupe/testkit/sim_schedule.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>

namespace troupe::testkit::sim {

/// The seed for a test: `TROUPE_SIM_SEED` if set, else `fallback`.
std::uint64_t seed_from_env(std::uint64_t fallback);

/// A generator for one purpose, from the world's seed: each purpose draws
/// from its own stream, so that a change in one (a fault removed) does not
/// reshuffle the others.
std::mt19937_64 stream(std::uint64_t seed, std::string_view purpose,
                       std::uint64_t index = 0);

/// A world of simulated nodes. One thread; nothing happens unless the test
/// runs the world (`run_for`, `run_until`, or a call that waits for an
/// answer), and then the world runs every ready message in an order the
/// seed decides, and jumps to the next timer or network event when nothing
/// is ready: minutes of cluster time pass in milliseconds.
///
///     sim::world w{{.nodes = 5, .seed = 7, .kinds = my_kinds}};
///     REQUIRE_FALSE(w.start_all());
///     REQUIRE(w.run_until([&] { return w.converged(); }, 30s));
///     w.crash(4);
///     w.partition({{0, 1}, {2, 3}});
///     w.run_for(10s);
///     w.heal();
///     REQUIRE_FALSE(w.start(4));
///     REQUIRE(w.run_until([&] { return w.ring_settled(); }, 60s));
class world {
public:
  struct options {
    std::size_t nodes = 5;
    /// Everything random in the world comes from this seed.
    std::uint64_t seed = 1;
    /// The nodes' cluster settings (Troupe's defaults; the secret file is
    /// the world's).
    runtime::cluster_config cluster{};
    network_options net{};
    /// Applications each node starts, by node index.
    std::function<std::vector<supervision::application_spec>(std::size_t)>
      applications{};
    /// Kinds of virtual actors each node registers, by node index.
    std::function<std::vector<cluster::actor_kind>(std::size_t)> kinds{};
    /// Capabilities each node states beside Troupe's, by node index; asked
    /// at every start, so a test can restart a node as a newer build.
    std::function<std::set<std::string>(std::size_t)> capabilities{};
    /// Adjusts each node's actor system configuration before it is built:
    /// register the types your messages carry between nodes here
    /// (`cfg.add_message_type<T>("name")`).
    std::function<void(runtime::system_config&)> configure{};
    /// Level of the nodes' logs, which go to the trace.
    runtime::log_level level = runtime::log_level::info;
    /// Trace lines kept for printing (the hash covers all of them).
    std::size_t trace_lines = 400;
    /// Print every trace line to standard error as it happens (also
    /// `TROUPE_SIM_VERBOSE=1`).
    bool echo = false;
    /// Where data directories go: a fresh directory under this one,
    /// removed with the world (empty: `/dev/shm` if present, else the
    /// system's temporary directory).
    std::filesystem::path dir{};
  };

  explicit world(options opts);
  world(const world&) = delete;
  world& operator=(const world&) = delete;
  ~world();

  std::size_t size() const;
  const options& settings() const {
    return opts_;
  }

  // -- nodes ------------------------------------------------------------------

  /// Starts (or restarts, from its data directory) node `i`, joining
  /// through the running nodes, and runs the world until it has started
  /// (or failed to).
  caf::error start(std::size_t i);
  /// The same, joining through the nodes `through` only.
  caf::error start(std::size_t i, const std::vector<std::size_t>& through);
  /// Starts every node not running, node 0 first.
  caf::error start_all();

  /// kill -9: the node stops at once, its connections reset, nothing is
  /// flushed or said; its data directory stays as it was.
  void crash(std::size_t i);
  /// Stops node `i` in order (applications in reverse, goodbye to its
  /// peers) and runs the world until it has.
  void stop(std::size_t i);
  /// SIGSTOP and SIGCONT: a frozen node runs nothing and its timers wait;
  /// what is sent to it waits in its mailboxes.
  void freeze(std::size_t i);
  void resume(std::size_t i);
  /// The node leaves the cluster (gracefully, handing off first).
  caf::error leave(std::size_t i);
  /// The node stops (resumes) taking routed traffic.
  caf::error drain(std::size_t i, bool on);
  /// Node `i` joins the cluster node `through` is in, at run time.
  caf::error join(std::size_t i, std::size_t through);
  /// Node `i` marks `subject` down, as an operator would.
  caf::error down(std::size_t i, std::size_t subject);

  bool running(std::size_t i) const;
  bool frozen(std::size_t i) const;
  /// Node `i`'s id (known once it has started).
  const std::string& node_id(std::size_t i) const;
  /// Node `i`'s name (`n1`, `n2`, ...).
  const std::string& name(std::size_t i) const;

  // -- network ----------------------------------------------------------------

  /// Cuts the cluster into groups that cannot reach each other; nodes not
  /// listed form a group of their own each. Connections across stay open
  /// and hold what is sent (they reset after
  /// `network_options::cut_reset_after`); new ones fail.
  void partition(const std::vector<std::vector<std::size_t>>& groups);
  /// Undoes every partition and cut made directly (not those of a
  /// schedule still running).
  void heal();
  /// One-way cut: `from` can no longer reach `to`.
  void cut(std::size_t from, std::size_t to);
  void restore(std::size_t from, std::size_t to);
  /// Resets the connections between `a` and `b` (frames in flight lost).
  void reset(std::size_t a, std::size_t b);
  /// Adds latency between `a` and `b` (0 removes it).
  void slow(std::size_t a, std::size_t b, sim_time extra);

  // -- faults on a schedule ---------------------------------------------------

  /// Runs the faults of `s` at their times (from now): each starts, and
  /// ends after its length (a crashed node is restarted, a partition
  /// healed, ...). Faults that find nothing to do (crashing a node that is
  /// down) are noted in the trace and skipped.
  void schedule(const fault_schedule& s);

  // -- time -------------------------------------------------------------------

  sim_time now() const {
    return now_;
  }
  /// Runs the world for `d` of virtual time.
  void run_for(sim_time d);
  /// Runs the world until `condition` holds (checked whenever everything
  /// due at one moment has run) or `limit` of virtual time has passed.
  bool run_until(const std::function<bool()>& condition, sim_time limit);

  // -- what the nodes know (read without messages, taking no time) -----------

  /// Node `i`'s cluster state as its membership actor published it last.
  std::shared_ptr<const cluster::cluster_snapshot>
  cluster_state(std::size_t i) const;
  /// What `observer` believes about `subject`: "joining", "up", ...,
  /// "unknown".
  std::string status_seen_by(std::size_t observer, std::size_t subject) const;
  bool unreachable_seen_by(std::size_t observer, std::size_t subject) const;
  bool sees(std::size_t observer, std::size_t subject,
            std::string_view status) const {
    return status_seen_by(observer, subject) == status;
  }
  /// Every running node sees every running node up and reachable, and all
  /// agree on one version that all have seen.
  bool converged() const;
  /// Every running node has the same ring, owned by exactly the running
  /// nodes (by as many of them as there are partitions, when there are
  /// more nodes), with every handoff for it finished.
  bool ring_settled() const;
  /// Every running node has quorum (it serves names).
  bool quorum_everywhere() const;
  /// The activations of virtual actors that take messages: name → the
  /// nodes that run one (one handing its state off, which answers that
  /// and stops, does not count).
  std::map<std::string, std::vector<std::size_t>> activations() const;
  /// A gauge of node `i`'s metrics (0 if it has none by that name).
  std::int64_t gauge(std::size_t i, std::string_view name) const;
  /// A counter of node `i`'s metrics (0 if it has none by that name).
  std::uint64_t counter(std::size_t i, std::string_view name) const;

  // -- talking to the nodes ---------------------------------------------------

  /// Sends to the virtual actor `name` from node `i` (as `router().send`).
  caf::error send(std::size_t i, const std::string& name, caf::message msg);

  /// Sends to the virtual actor `name` from node `i` and runs the world
  /// until the reply (of type `R`) or an error is there, or `timeout` of
  /// virtual time has passed.
  template <class R, class... Ts>
  caf::expected<R>
  request(std::size_t i, const std::string& name, sim_time timeout, Ts&&... xs);

  /// Node `i`'s actor system, cluster context and routing client.
  caf::actor_system& system(std::size_t i);
  const cluster::context_ptr& context(std::size_t i) const;
  cluster::router_client router(std::size_t i);

  // -- checks and the trace ---------------------------------------------------

  /// Runs `check` whenever everything due at one moment has run; the first
  /// message it returns becomes the world's `failure` (and later checks
  /// still run). Checks must not run the world.
  void check_always(std::function<std::optional<std::string>(world&)> check);
  /// The first failure a check reported, with when.
  const std::optional<std::string>& failure() const {
    return failure_;
  }

  /// Adds a line of the test's own to the trace.
  void note(std::string_view line);
  /// A hash of everything that happened: every message run (which node,
  /// which actor), every delivery on the network (with its bytes), every
  /// fault and every log line. Equal for equal seeds and tests.
  std::uint64_t trace_hash() const;
  /// The last `options::trace_lines` lines of the trace.
  const std::deque<std::string>& trace() const {
    return trace_;
  }
  /// Messages run and network events delivered so far.
  std::uint64_t events() const {
    return events_;
  }

  /// A generator for the test's own random choices (a stream of its own).
  std::mt19937_64& rng() {
    return test_rng_;
  }

private:
  struct node_slot;
  struct hasher;
  class log_sink;

  // Spawns a one-shot actor on node `i` that sends `msg` to `dest` as a
  // request and stores the answer in `box`.
  template <class R>
  void ask(std::size_t i, const caf::actor& dest, sim_time timeout,
           caf::message msg,
           const std::shared_ptr<std::optional<caf::expected<R>>>& box);
  void keep_helper(std::size_t i, const caf::actor& helper);
  // Asks node `i`'s membership actor and waits for its answer.
  template <class... Ts>
  caf::error ask_membership(std::size_t i, Ts&&... xs);

  caf::error boot(std::size_t i, const std::vector<std::size_t>& through);
  void restart(std::size_t i);
  void tear_state(std::size_t i);
  void begin_stop(std::size_t i);
  bool progress_stops();
  void tear_down(node_slot& n);
  void retire(std::size_t i, bool crashed);
  caf::actor_system& system_of(std::size_t i);
  bool run_one_job();
  void touch(std::size_t i);
  void touch_all();
  void refresh_timers();
  void sync_clock(node_slot& n);
  void settle();
  void advance_to(sim_time t);
  std::optional<sim_time> next_event();
  void dispatch(network::event& ev);
  void run_due_faults();
  void apply(const fault& f, bool begin);
  void cut_count(std::size_t from, std::size_t to, int delta);
  void record(std::string line);
  void hash_bytes(const void* data, std::size_t size);
  void run_checks();
  std::vector<std::size_t> running_nodes() const;

  options opts_;
  std::filesystem::path dir_;
  sim_time now_{0};
  std::unique_ptr<network> net_;
  std::vector<std::unique_ptr<node_slot>> nodes_;
  // What may have a ready message, and when each node's next timer is due
  // (kept up to date for the nodes touched since): with hundreds of nodes
  // the world would otherwise look at every one of them for every event.
  std::set<std::size_t> candidates_;
  std::set<std::size_t> timer_dirty_;
  std::set<std::pair<caf::actor_clock::time_point, std::size_t>> timers_;
  std::vector<std::optional<caf::actor_clock::time_point>> timer_of_;
  std::vector<node_slot*> runnable_; // scratch of run_one_job
  std::mt19937_64 sched_rng_;
  std::mt19937_64 test_rng_;
  std::unique_ptr<hasher> hash_;
  std::deque<std::string> trace_;
  std::uint64_t events_ = 0;
  std::multimap<sim_time, std::pair<fault, bool>> faults_;
  std::map<std::pair<std::size_t, std::size_t>, int> cuts_;
  std::vector<std::pair<std::size_t, std::size_t>> direct_cuts_;
  std::vector<std::function<std::optional<std::string>(world&)>> checks_;
  std::optional<std::string> failure_;
  std::uint64_t lives_ = 0;
  bool in_checks_ = false;
};

template <class R>
void world::ask(std::size_t i, const caf::actor& dest, sim_time timeout,
                caf::message msg,
                const std::shared_ptr<std::optional<caf::expected<R>>>& box) {
  auto helper = system_of(i).spawn([dest, timeout, msg = std::move(msg),
                                    box](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, std::move(msg))
      .then(
        [box, self](R& r) {
          *box = std::move(r);
          self->quit();
        },
        [box, self](caf::error& err) {
          *box = std::move(err);
          self->quit();
        });
  });
  keep_helper(i, helper);
}

template <class... Ts>
caf::error world::ask_membership(std::size_t i, Ts&&... xs) {
  if (!running(i)) {
    return caf::make_error(caf::sec::invalid_argument,
                           "node " + std::to_string(i) + " is not running");
  }
  auto box = std::make_shared<std::optional<caf::expected<caf::unit_t>>>();
  auto dest = context(i)->membership();
  auto helper = system_of(i).spawn(
    [dest, box, msg = caf::make_message(std::forward<Ts>(xs)...)](
      caf::event_based_actor* self) mutable {
      self->request(dest, std::chrono::seconds{5}, std::move(msg))
        .then(
          [box, self] {
            *box = caf::unit;
            self->quit();
          },
          [box, self](caf::error& err) {
            *box = std::move(err);
            self->quit();
          });
    });
  keep_helper(i, helper);
  run_until([&box] { return box->has_value(); }, std::chrono::seconds{6});
  if (!box->has_value()) {
    return caf::make_error(caf::sec::request_timeout, "no answer");
  }
  return (*box)->error();
}

template <class R, class... Ts>
caf::expected<R> world::request(std::size_t i, const std::string& name,
                                sim_time timeout, Ts&&... xs) {
  if (!running(i)) {
    return caf::make_error(caf::sec::invalid_argument,
                           "node " + std::to_string(i) + " is not running");
  }
  auto router = context(i)->router();
  if (!router) {
    return caf::make_error(caf::sec::invalid_argument, "the router of node "
                                                         + std::to_string(i)
                                                         + " is not running");
  }
  auto box = std::make_shared<std::optional<caf::expected<R>>>();
  ask<R>(i, router, timeout,
         caf::make_message(cluster::route_req_atom::value, name,
                           caf::make_message(std::forward<Ts>(xs)...)),
         box);
  run_until([&box] { return box->has_value(); },
            timeout + std::chrono::seconds{1});
  if (!box->has_value()) {
    return caf::make_error(caf::sec::request_timeout, "no answer from " + name);
  }
  return std::move(**box);
}

} // namespace troupe::testkit::sim

// Cluster benchmarks: gossip convergence after a join (16 and 32 nodes in
// one process), and failure detection of a killed and of a stopped
// troupe-node process (default settings), against the goals of the issue.
#include "tests/bench/bench.hpp"
#include "troupe/testkit/cluster_harness.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <string_view>

#include <sys/wait.h>

namespace tk = troupe::testkit;
namespace tc = troupe::cluster;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// One line per node for failure messages: what it knows and has seen.
void describe(tk::cluster_harness& c) {
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!c.running(i)) {
      continue;
    }
    auto snap = c.at(i).cluster().snapshot();
    if (!snap) {
      std::fprintf(stderr, "  n%zu: no snapshot\n", i);
      continue;
    }
    std::size_t up = 0;
    std::size_t unreachable = 0;
    for (const auto& [id, m] : snap->gossip.state.members()) {
      up += m.status == tc::member_status::up ? 1 : 0;
      unreachable += snap->gossip.state.is_unreachable(id) ? 1 : 0;
    }
    std::fprintf(stderr,
                 "  n%zu: %s, %zu members, %zu up, %zu unreachable, seen by "
                 "%zu, version %s\n",
                 i, snap->converged ? "converged" : "not converged",
                 snap->gossip.state.members().size(), up, unreachable,
                 snap->gossip.seen.size(),
                 tc::to_string(snap->gossip.state.version()).c_str());
  }
}

// Converges n - 1 nodes, then measures the join of one more.
void convergence(std::size_t n) {
  // Gossip every 100 ms; heartbeats slow and tolerant, since 32 nodes
  // share two cores here and a starved node must not look dead.
  auto settings = tk::fast_cluster_settings();
  settings.gossip_interval = 100ms;
  settings.heartbeat_interval = 500ms;
  settings.acceptable_pause = 5s;
  settings.down_after = std::nullopt;
  tk::cluster_harness c{{.nodes = n, .cluster = settings, .threads = 1}};
  for (std::size_t i = 0; i + 1 < n; ++i) {
    if (auto err = c.start(i)) {
      std::fprintf(stderr, "cannot start node %zu\n", i);
      std::exit(1);
    }
  }
  if (!c.wait_converged(120s)) {
    std::fprintf(stderr, "%zu nodes did not converge\n", n - 1);
    describe(c);
    std::exit(1);
  }
  std::uint64_t before = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    before = std::max(before, c.at(i).cluster().snapshot()->rounds);
  }
  // The highest gossip round count of the nodes, minus the count before.
  auto rounds = [&] {
    std::uint64_t most = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      most = std::max(most, c.at(i).cluster().snapshot()->rounds);
    }
    return static_cast<double>(most - before);
  };
  // How many nodes see the joiner up.
  auto up_at = [&](const std::string& joiner) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i) {
      auto snap = c.at(i).cluster().snapshot();
      const auto* m = snap ? snap->gossip.state.find(joiner) : nullptr;
      count += m != nullptr && m->status == tc::member_status::up ? 1 : 0;
    }
    return count;
  };
  auto name = "cluster.converge_" + std::to_string(n);
  auto phase = [&](const char* what, auto&& done) {
    if (!c.wait_for(done, 120s)) {
      std::fprintf(stderr, "the join into %zu nodes: %s not reached\n", n,
                   what);
      describe(c);
      std::exit(1);
    }
  };
  auto start = clock_type::now();
  auto report = [&](const std::string& what) {
    std::chrono::duration<double, std::milli> took = clock_type::now() - start;
    troupe::bench::report(name + "_" + what + "_rounds", rounds(), "rounds");
    troupe::bench::report(name + "_" + what + "_ms", took.count(), "ms");
  };
  // Through one seed, as an operator would: it learns the others from it.
  if (c.start(n - 1, {0})) {
    std::fprintf(stderr, "cannot start the joiner\n");
    std::exit(1);
  }
  report("joiner_started");
  const auto& joiner = c.node_id(n - 1);
  // The join has converged: every member has seen it. The leader moves a
  // joining member up at the moment it sees that, so the first node that
  // has the joiner up marks it.
  phase("join seen by all", [&] { return up_at(joiner) > 0; });
  report("join_seen");
  // Every node has learnt that the joiner is up.
  phase("up everywhere", [&] { return up_at(joiner) == n; });
  report("up_everywhere");
  // Settled: every node holds the same state, in which the ring includes
  // the joiner and every member has announced its handoff for that ring.
  phase("same state everywhere", [&] {
    std::optional<tc::version_vector> version;
    for (std::size_t i = 0; i < n; ++i) {
      auto snap = c.at(i).cluster().snapshot();
      if (!snap || (version && snap->gossip.state.version() != *version)) {
        return false;
      }
      version = snap->gossip.state.version();
      const auto& ring = snap->gossip.state.current_ring();
      auto owners = ring.members();
      if (owners.size() != n) {
        return false;
      }
      for (const auto& id : owners) {
        const auto* m = snap->gossip.state.find(id);
        if (m == nullptr || m->announcement.handoff_epoch < ring.epoch()) {
          return false;
        }
      }
    }
    return true;
  });
  report("settled");
  // Every node knows that every member has seen that state.
  phase("seen by all", [&] { return c.converged(); });
  report("settled_seen");
  troupe::bench::report(name + "_goal_rounds",
                        std::ceil(std::log2(static_cast<double>(n))) + 3,
                        "rounds");
}

// Time from a signal to the observer's `unreachable` event for that node.
double detection_ms(tk::cluster_harness& c, caf::scoped_actor& events,
                    tk::node_process& peer, int sig) {
  // Wait for the peer to be up, then drain older events.
  if (!c.wait_for(
        [&] {
          auto m = c.at(0).cluster().members();
          return m && m->size() == 2
                 && std::all_of(m->begin(), m->end(), [](const auto& v) {
                      return v.info.status == tc::member_status::up
                             && !v.unreachable;
                    });
        },
        60s)) {
    std::fprintf(stderr, "the peer process did not join\n");
    if (auto m = c.at(0).cluster().members()) {
      for (const auto& v : *m) {
        std::fprintf(stderr, "  %s incarnation %llu %s%s\n",
                     v.info.name.c_str(),
                     static_cast<unsigned long long>(v.info.incarnation),
                     tc::to_string(v.info.status).c_str(),
                     v.unreachable ? " unreachable" : "");
      }
    }
    describe(c);
    for (auto f : {c.dir() / "n0" / "log" / "node.log",
                   c.dir() / "peer" / "log" / "node.log"}) {
      std::ifstream in{f};
      std::string text{std::istreambuf_iterator<char>{in}, {}};
      std::fprintf(stderr, "%s:\n%s\n", f.c_str(), text.c_str());
    }
    if (auto st = peer.wait_exit(std::chrono::milliseconds{0})) {
      std::fprintf(stderr, "the peer exited: status %d, signal %d\n",
                   WIFEXITED(*st) ? WEXITSTATUS(*st) : -1,
                   WIFSIGNALED(*st) ? WTERMSIG(*st) : 0);
    }
    std::fprintf(stderr, "peer output:\n%s\n%s\n", peer.stdout_text().c_str(),
                 peer.stderr_text().c_str());
    std::exit(1);
  }
  for (bool more = true; more;) {
    events->receive([](const tc::member_event&) {},
                    caf::after(std::chrono::milliseconds{0}) >>
                      [&more] { more = false; });
  }
  auto start = clock_type::now();
  peer.signal(sig);
  double ms = -1;
  bool done = false;
  while (!done) {
    events->receive(
      [&](const tc::member_event& ev) {
        if (ev.kind == tc::member_event_kind::unreachable) {
          ms = std::chrono::duration<double, std::milli>(clock_type::now()
                                                         - start)
                 .count();
          done = true;
        }
      },
      caf::after(30s) >> [&] { done = true; });
  }
  return ms;
}

void failure_detection() {
  // Default failure-detector settings on both sides.
  tk::cluster_harness c{{.nodes = 1, .cluster = {}, .threads = 2}};
  if (c.start(0)) {
    std::fprintf(stderr, "cannot start the observer\n");
    std::exit(1);
  }
  caf::scoped_actor events{c.at(0).system()};
  if (c.at(0).cluster().subscribe(events)) {
    std::exit(1);
  }
  auto seed = "127.0.0.1:" + std::to_string(c.at(0).listen_port());
  for (int sig : {SIGKILL, SIGSTOP}) {
    tk::temp_dir dir;
    tk::node_process peer{
      {.binary = tk::troupe_node_binary(),
       .args = {"--name", "peer@127.0.0.1", "--data-dir",
                (c.dir() / "peer").string(), "--listen", "127.0.0.1:0",
                "--join", seed, "--log-level", "warn"},
       .env = {{"TROUPE_CLUSTER_DOWN_AFTER", "off"}},
       .work_dir = dir.path()}};
    auto ms = detection_ms(c, events, peer, sig);
    troupe::bench::report(sig == SIGKILL ? "cluster.detect_sigkill_ms"
                                         : "cluster.detect_sigstop_ms",
                          ms, "ms");
    if (sig == SIGSTOP) {
      peer.signal(SIGKILL);
    }
    peer.wait_exit(30s);
    c.at(0).cluster().down("peer@127.0.0.1");
  }
  troupe::bench::report("cluster.detect_sigkill_goal_ms", 100, "ms");
  troupe::bench::report("cluster.detect_sigstop_goal_ms", 2000, "ms");
}

} // namespace

int main(int argc, char** argv) {
  auto wanted = [argc, argv](std::string_view part) {
    return troupe::bench::wanted(argc, argv, part);
  };
  if (wanted("detect")) {
    failure_detection();
  }
  if (wanted("converge16")) {
    convergence(16);
  }
  if (wanted("converge32")) {
    convergence(32);
  }
}

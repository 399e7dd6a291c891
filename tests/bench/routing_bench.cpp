// Routing benchmarks: ring lookup at Q=16,384; by-name send to a locally
// owned name against a direct send; remote by-name send against the
// transport's own payload send; claim and rebalance time after a join at
// Q=1,024.
#include "tests/bench/bench.hpp"
#include "troupe/cluster/atoms.hpp"
#include "troupe/cluster/message_bytes.hpp"
#include "troupe/cluster/router_client.hpp"
#include "troupe/cluster/wire/codec.hpp"
#include "troupe/testkit/cluster_harness.hpp"

#include <caf/event_based_actor.hpp>

#include <atomic>
#include <cstdlib>
#include <thread>

namespace tk = troupe::testkit;
namespace tc = troupe::cluster;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

using hit_atom = caf::atom_constant<caf::atom("hit")>;

std::string node(int i) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%032x",
                static_cast<unsigned>(i) * 2654435761U);
  return buf;
}

void die(const char* what) {
  std::fprintf(stderr, "routing_bench: %s\n", what);
  std::exit(1);
}

void ring_lookup() {
  std::vector<std::string> members;
  for (int i = 1; i <= 16; ++i) {
    members.push_back(node(i));
  }
  auto r = tc::claim(tc::ring{}, members, {.ring_size = 16384}).next;
  std::vector<std::string> names;
  for (int i = 0; i < 4096; ++i) {
    names.push_back("counter/" + std::to_string(i));
  }
  auto rate = troupe::bench::best_rate(4'000'000, 5, [&](std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto& owner = r.owner(r.partition_of_name(names[i & 4095]));
      troupe::bench::keep(owner.data());
    }
  });
  troupe::bench::report("routing.ring_lookup_q16384", 1e9 / rate, "ns");
}

// A kind whose actors count what they get.
tc::actor_kind sink_kind(std::shared_ptr<std::atomic<std::uint64_t>> hits) {
  return {.kind = "sink",
          .start = [hits](caf::actor_system& sys, const std::string&,
                          const std::string&) {
            return sys.spawn([hits](caf::event_based_actor*) {
              return caf::behavior{[hits](hit_atom) { ++*hits; }};
            });
          }};
}

void wait_hits(const std::atomic<std::uint64_t>& hits, std::uint64_t n) {
  auto deadline = clock_type::now() + 120s;
  while (hits.load() < n) {
    if (clock_type::now() > deadline) {
      die("messages did not arrive");
    }
    std::this_thread::yield();
  }
}

// Sends `n` messages with `a`, then `n` with `b`, each until all have
// arrived, `rounds` times in turn (so both see the same machine load);
// the best rate of each.
template <class A, class B>
std::pair<double, double> interleaved(std::uint64_t n, int rounds,
                                      std::atomic<std::uint64_t>& hits, A a,
                                      B b) {
  auto rate = [&](auto& send) {
    return troupe::bench::best_rate(n, 1, [&](std::uint64_t k) {
      hits.store(0);
      for (std::uint64_t i = 0; i < k; ++i) {
        send();
      }
      wait_hits(hits, k);
    });
  };
  double best_a = 0;
  double best_b = 0;
  for (int r = 0; r < rounds; ++r) {
    best_a = std::max(best_a, rate(a));
    best_b = std::max(best_b, rate(b));
  }
  return {best_a, best_b};
}

void local_send() {
  auto hits = std::make_shared<std::atomic<std::uint64_t>>(0);
  tk::cluster_harness c{{.nodes = 1, .kinds = [hits](std::size_t) {
                           return std::vector<tc::actor_kind>{sink_kind(hits)};
                         }}};
  if (c.start_all() || !c.wait_for([&] { return c.ring_settled(); }, 30s)) {
    die("the node did not start");
  }
  auto router = c.at(0).router();
  // Activate it once, outside the measurement.
  router.send("sink/1", hit_atom::value);
  wait_hits(*hits, 1);
  constexpr std::uint64_t n = 1'000'000;
  auto direct_actor = sink_kind(hits).start(c.at(0).system(), "", "");
  auto [by_name, direct] = interleaved(
    n, 4, *hits, [&] { router.send("sink/1", hit_atom::value); },
    [&] { caf::anon_send(direct_actor, hit_atom::value); });
  caf::anon_send_exit(direct_actor, caf::exit_reason::user_shutdown);
  troupe::bench::report("routing.local_by_name", by_name, "msg/s");
  troupe::bench::report("routing.local_direct", direct, "msg/s");
  troupe::bench::report("routing.local_by_name_vs_direct", by_name / direct,
                        "ratio");
}

void remote_send() {
  auto hits = std::make_shared<std::atomic<std::uint64_t>>(0);
  tk::cluster_harness c{{.nodes = 2, .kinds = [hits](std::size_t) {
                           return std::vector<tc::actor_kind>{sink_kind(hits)};
                         }}};
  if (c.start_all() || !c.wait_converged(30s)
      || !c.wait_for([&] { return c.ring_settled(); }, 30s)) {
    die("the nodes did not start");
  }
  auto router = c.at(0).router();
  std::string name;
  for (int i = 0; name.empty(); ++i) {
    auto candidate = "sink/" + std::to_string(i);
    if (router.owner_of(candidate) == c.node_id(1)) {
      name = candidate;
    }
  }
  router.send(name, hit_atom::value);
  wait_hits(*hits, 1);
  constexpr std::uint64_t n = 200'000;
  // The baseline: the same number of payload frames to a handler that
  // counts them.
  auto handler = c.at(1).system().spawn([hits](caf::event_based_actor*) {
    return caf::behavior{[hits](tc::payload_atom, const std::string&,
                                const tc::wire::payload&) { ++*hits; }};
  });
  c.at(1).cluster().handle_payloads("bench", handler);
  auto cluster = c.at(0).cluster();
  auto bytes = tc::to_bytes(c.at(0).system(),
                            caf::make_message(hit_atom::value));
  auto [by_name, direct] = interleaved(
    n, 3, *hits, [&] { router.send(name, hit_atom::value); },
    [&] { cluster.send_payload(c.node_id(1), "bench", *bytes); });
  caf::anon_send_exit(handler, caf::exit_reason::user_shutdown);
  troupe::bench::report("routing.remote_by_name", by_name, "msg/s");
  troupe::bench::report("routing.remote_payload", direct, "msg/s");
  troupe::bench::report("routing.remote_by_name_vs_payload", by_name / direct,
                        "ratio");
}

void rebalance() {
  std::vector<std::string> members;
  for (int i = 1; i <= 8; ++i) {
    members.push_back(node(i));
  }
  auto r = tc::claim(tc::ring{}, members, {.ring_size = 1024}).next;
  members.push_back(node(9));
  auto start = clock_type::now();
  auto res = tc::claim(r, members, {.ring_size = 1024});
  std::chrono::duration<double, std::micro> took = clock_type::now() - start;
  troupe::bench::report("routing.claim_join_q1024_n9", took.count(), "us");
  troupe::bench::report("routing.claim_join_q1024_n9_moved", res.moved,
                        "partitions");

  auto settings = tk::fast_cluster_settings();
  settings.ring_size = 1024;
  settings.acceptable_pause = 3s;
  auto hits = std::make_shared<std::atomic<std::uint64_t>>(0);
  tk::cluster_harness c{
    {.nodes = 5, .cluster = settings, .kinds = [hits](std::size_t) {
       return std::vector<tc::actor_kind>{sink_kind(hits)};
     }}};
  for (std::size_t i = 0; i < 4; ++i) {
    if (c.start(i)) {
      die("a node did not start");
    }
  }
  if (!c.wait_for([&] { return c.ring_settled(); }, 60s)) {
    die("the ring did not settle");
  }
  // 1,000 running actors, so that partitions move with actors in them.
  for (int i = 0; i < 1000; ++i) {
    c.at(0).router().send("sink/" + std::to_string(i), hit_atom::value);
  }
  wait_hits(*hits, 1000);
  auto joined = clock_type::now();
  if (c.start(4)) {
    die("the joiner did not start");
  }
  if (!c.wait_for([&] { return c.ring_settled(); }, 120s)) {
    die("the ring did not settle after the join");
  }
  std::chrono::duration<double, std::milli> settled = clock_type::now()
                                                      - joined;
  troupe::bench::report("routing.rebalance_join_q1024_n5", settled.count(),
                        "ms");
}

} // namespace

// With arguments, runs only the parts named (lookup, local, remote,
// rebalance), e.g. to profile one.
int main(int argc, char** argv) {
  auto wanted = [argc, argv](std::string_view part) {
    return troupe::bench::wanted(argc, argv, part);
  };
  if (wanted("lookup")) {
    ring_lookup();
  }
  if (wanted("local")) {
    local_send();
  }
  if (wanted("remote")) {
    remote_send();
  }
  if (wanted("rebalance")) {
    rebalance();
  }
}

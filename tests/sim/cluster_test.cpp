// The cluster in the simulated world: membership, failure detection,
// partitions, routing by name and handoff, in virtual time (these ran in
// real time on loopback before; a few real-socket tests remain in
// tests/cluster).
#include "tests/sim/scenarios.hpp"

#include "troupe/testkit/sim_ledger.hpp"
#include "troupe/testkit/sim_scenario.hpp"
#include "troupe/testkit/sim_world.hpp"

#include "troupe/cluster/capabilities.hpp"
#include "troupe/cluster/errors.hpp"
#include "troupe/runtime/errors.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>

using namespace std::chrono_literals;
namespace sim = troupe::testkit::sim;
namespace tc = troupe::cluster;

namespace {

using add_atom = caf::atom_constant<caf::atom("add")>;
using get_atom = caf::atom_constant<caf::atom("get")>;

// What the counters did: where each name was activated, and the sum of
// every increment applied (one thread: no locks needed).
struct book {
  std::map<std::string, std::vector<std::size_t>> activations;
  std::int64_t applied = 0;
};

// A counter: starts from the state it is given, exports its count.
tc::actor_kind counter_kind(std::shared_ptr<book> b, std::size_t node) {
  return {.kind = "counter",
          .start = [b, node](caf::actor_system& sys, const std::string& name,
                             const std::string& state) {
            b->activations[name].push_back(node);
            std::int64_t start = state.empty() ? 0 : std::stoll(state);
            return sys.spawn([b, start](caf::event_based_actor*) {
              auto count = std::make_shared<std::int64_t>(start);
              return caf::behavior{
                [b, count](add_atom, std::int64_t n) {
                  *count += n;
                  b->applied += n;
                },
                [count](get_atom) { return *count; },
                [count](tc::handoff_atom) { return std::to_string(*count); },
                [count](tc::handoff_atom, const std::string& more) {
                  *count += std::stoll(more);
                },
              };
            });
          }};
}

struct counters {
  std::shared_ptr<book> b = std::make_shared<book>();
  sim::world w;

  explicit counters(std::size_t nodes, std::uint64_t seed,
                    troupe::runtime::cluster_config settings = {})
    : w{{.nodes = nodes,
         .seed = sim::seed_from_env(seed),
         .cluster = settings,
         .kinds = [this](std::size_t i) {
           return std::vector<tc::actor_kind>{counter_kind(b, i)};
         }}} {}

  std::int64_t get(std::size_t via, const std::string& name) {
    auto got = w.request<std::int64_t>(via, name, 5s, get_atom::value);
    REQUIRE_MESSAGE(got, caf::to_string(got.error()));
    return *got;
  }
};

std::string counter(int k) {
  return fmt::format("counter/{}", k);
}

bool settled(sim::world& w, sim::sim_time limit = 60s) {
  return w.run_until([&w] { return w.converged() && w.ring_settled(); }, limit);
}

} // namespace

TEST_SUITE_BEGIN("sim.cluster");

TEST_CASE("a user's test: five nodes, a crash, a partition, every name "
          "answers once") {
  sim::world w{
    {.nodes = 5, .seed = sim::seed_from_env(42), .kinds = [](std::size_t) {
       return std::vector{sim::ledger_kind()};
     }}};
  REQUIRE_FALSE(w.start_all());
  w.crash(4);
  w.run_for(10s);
  REQUIRE_FALSE(w.start(4));
  w.partition({{0, 1}, {2, 3, 4}});
  w.run_for(10s);
  w.heal();
  REQUIRE(settled(w));
  for (int k = 0; k < 20; ++k) {
    CHECK(w.request<std::uint64_t>(k % 5, "ledger/" + std::to_string(k), 5s,
                                   sim::append_atom::value, std::uint64_t{1}));
  }
  CHECK(sim::at_most_one_activation(w) == std::nullopt);
}

TEST_CASE("a rolling upgrade: one node at a time restarts as a newer build; "
          "its feature is used only once every member has it, and traffic "
          "flows throughout") {
  // Each node's build: 1 states app.v1, 2 states app.v1 and app.v2.
  std::vector<int> build{1, 1, 1, 1};
  auto b = std::make_shared<book>();
  sim::world w{{.nodes = 4,
                .seed = sim::seed_from_env(64),
                .kinds =
                  [b](std::size_t i) {
                    return std::vector<tc::actor_kind>{counter_kind(b, i)};
                  },
                .capabilities =
                  [&build](std::size_t i) {
                    return build[i] == 1
                             ? std::set<std::string>{"app.v1"}
                             : std::set<std::string>{"app.v1", "app.v2"};
                  }}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  // What node `i` sees the cluster agree on.
  auto in_use = [&w](std::size_t i) {
    std::vector<tc::member> ms;
    for (const auto& [id, m] : w.cluster_state(i)->gossip.state.members()) {
      ms.push_back(m);
    }
    return tc::negotiated_capabilities(ms);
  };
  auto v1 = tc::troupe_capabilities();
  v1.insert("app.v1");
  auto v2 = v1;
  v2.insert("app.v2");
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK_EQ(in_use(i), v1);
  }
  auto adds = [&](std::size_t via, int round) {
    for (int k = 0; k < 8; ++k) {
      CHECK_FALSE(
        w.router(via).send(counter(k), add_atom::value, std::int64_t{1}));
    }
    for (int k = 0; k < 8; ++k) {
      auto got = w.request<std::int64_t>(via, counter(k), 5s, get_atom::value);
      CHECK_MESSAGE(got, "round ", round, " counter ", k);
    }
  };
  adds(0, 0);
  for (std::size_t i = 0; i < 4; ++i) {
    // The upgrade of one node: it leaves (its actors handed off), stops,
    // and starts as the new build from the same data directory.
    REQUIRE_FALSE(w.leave(i));
    REQUIRE(
      w.run_until([&] { return w.sees((i + 1) % 4, i, "removed"); }, 60s));
    w.stop(i);
    build[i] = 2;
    REQUIRE_FALSE(w.start(i));
    REQUIRE(settled(w));
    auto via = (i + 1) % 4;
    adds(via, static_cast<int>(i) + 1);
    for (std::size_t j = 0; j < 4; ++j) {
      CHECK_EQ(in_use(j), i < 3 ? v1 : v2);
    }
    // Every member's record says which build it runs.
    for (const auto& [id, m] : w.cluster_state(via)->gossip.state.members()) {
      CHECK_FALSE(m.software.empty());
    }
  }
  for (int k = 0; k < 8; ++k) {
    auto got = w.request<std::int64_t>(0, counter(k), 5s, get_atom::value);
    REQUIRE(got);
    CHECK_EQ(*got, 5);
  }
  CHECK(sim::at_most_one_activation(w) == std::nullopt);
}

TEST_CASE("five nodes join through one seed and converge with one leader") {
  sim::world w{{.nodes = 5, .seed = sim::seed_from_env(21)}};
  REQUIRE_FALSE(w.start(0));
  for (std::size_t i = 1; i < 5; ++i) {
    REQUIRE_FALSE(w.start(i, {0}));
  }
  REQUIRE(settled(w));
  auto st = w.cluster_state(3);
  CHECK(st->gossip.state.members().size() == 5);
  REQUIRE(st->leader);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(w.cluster_state(i)->leader == st->leader);
  }
}

TEST_CASE("a node told to join through a seed it cannot reach stays "
          "joining and claims no ring, and joins once told of a member") {
  sim::world w{{.nodes = 3, .seed = sim::seed_from_env(22)}};
  REQUIRE_FALSE(w.start(0));
  // Node 2 joins through node 1, which never starts: nobody listens there.
  REQUIRE_FALSE(w.start(2, {1}));
  // Alone, it would be its own leader: give it rounds enough to act.
  REQUIRE(w.run_until([&] { return w.cluster_state(2)->rounds >= 10; }, 60s));
  auto st = w.cluster_state(2);
  REQUIRE(st->gossip.state.members().size() == 1);
  CHECK(st->gossip.state.members().begin()->second.status
        == tc::member_status::joining);
  CHECK(st->gossip.state.current_ring().empty());
  // Told of a member at run time, it joins that cluster and gets a share
  // of its ring.
  REQUIRE_FALSE(w.join(2, 0));
  CHECK(w.run_until(
    [&] {
      auto there = w.cluster_state(0);
      auto owners = there->gossip.state.current_ring().members();
      return w.sees(0, 2, "up")
             && std::find(owners.begin(), owners.end(), w.node_id(2))
                  != owners.end();
    },
    30s));
}

TEST_CASE("a member a node has never reached is suspected as one that fell "
          "silent is, and cleared once they connect") {
  // Nodes 1 and 2 join through node 0 with the link between them cut from
  // the start: each learns of the other only by gossip and never connects.
  troupe::runtime::cluster_config settings;
  settings.down_after = std::nullopt; // keep the flags in view
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    sim::world w{
      {.nodes = 3, .seed = sim::seed_from_env(seed), .cluster = settings}};
    REQUIRE_FALSE(w.start(0));
    w.cut(1, 2);
    w.cut(2, 1);
    REQUIRE_FALSE(w.start(1, {0}));
    REQUIRE_FALSE(w.start(2, {0}));
    auto flagged = w.run_until(
      [&] {
        return w.unreachable_seen_by(0, 1) && w.unreachable_seen_by(0, 2)
               && w.unreachable_seen_by(1, 2) && w.unreachable_seen_by(2, 1);
      },
      20s);
    CHECK(flagged);
    // Node 0 reaches both: it is flagged by nobody.
    CHECK_FALSE(w.unreachable_seen_by(1, 0));
    CHECK_FALSE(w.unreachable_seen_by(2, 0));
    w.restore(1, 2);
    w.restore(2, 1);
    CHECK(w.run_until([&] { return w.converged(); }, 60s));
  }
}

TEST_CASE("a node restarted at once after an operator downs it rejoins, "
          "again and again") {
  // The restarted node boots with the ring it saved, in which it owned
  // partitions; the cluster's ring (claimed without it) takes them away
  // and, once it is up again, gives them back while its handoffs of the
  // old ring are still queued.
  sim::world w{{.nodes = 2, .seed = sim::seed_from_env(23)}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  for (int round = 0; round < 4; ++round) {
    CAPTURE(round);
    auto before = w.cluster_state(1)->gossip.state.find(w.node_id(1));
    REQUIRE(before != nullptr);
    auto incarnation = before->incarnation;
    w.crash(1);
    REQUIRE(w.run_until([&] { return w.unreachable_seen_by(0, 1); }, 10s));
    REQUIRE_FALSE(w.down(0, 1));
    // Removed, and forgotten at once: node 0 is the only member left to
    // see the removal.
    REQUIRE(w.run_until([&] { return w.sees(0, 1, "unknown"); }, 30s));
    REQUIRE_FALSE(w.start(1));
    REQUIRE(settled(w));
    CHECK(w.cluster_state(0)->gossip.state.find(w.node_id(1))->incarnation
          > incarnation);
  }
}

TEST_CASE("serve_all: a partition {0,1} | {2,3,4} long enough for downs "
          "heals into one converged cluster without anyone re-joining by "
          "hand") {
  // Each side downs the other: two clusters until the heal.
  using strategy = troupe::runtime::split_brain_policy::strategy;
  sim::world w{{.nodes = 5,
                .seed = sim::seed_from_env(24),
                .cluster = {.split_brain = {.kind = strategy::serve_all}}}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  w.partition({{0, 1}, {2, 3, 4}});
  auto gone = [&w](std::size_t a, std::size_t b) {
    auto s = w.status_seen_by(a, b);
    return s == "down" || s == "removed" || s == "unknown";
  };
  REQUIRE(w.run_until([&] { return gone(0, 4) && gone(4, 0); }, 30s));
  w.heal();
  CHECK(settled(w, 120s));
}

namespace {

bool is_no_quorum(const caf::error& err) {
  return err.category() == caf::atom("cluster")
         && err.code() == static_cast<std::uint8_t>(tc::errc::no_quorum);
}

std::uint64_t incarnation_of(sim::world& w, std::size_t i) {
  const auto* m = w.cluster_state(i)->gossip.state.find(w.node_id(i));
  return m == nullptr ? 0 : m->incarnation;
}

// Down, removed, or removed and then forgotten.
bool gone(sim::world& w, std::size_t observer, std::size_t subject) {
  auto s = w.status_seen_by(observer, subject);
  return s == "down" || s == "removed" || s == "unknown";
}

// Splits a settled cluster into `minority` and `majority` (by indexes),
// with traffic through both, and checks keep_majority's promises: at most
// one activation of a name at every moment; the majority downs the
// minority and serves every name; the minority downs nobody, hosts nothing
// and answers no_quorum; healed, only the minority rejoins.
// The sides of a split: the one that must lose quorum, then the one that
// must keep it, chosen once the cluster has settled.
using sides = std::pair<std::vector<std::size_t>, std::vector<std::size_t>>;

void split_and_heal(std::uint64_t seed, std::size_t nodes,
                    const std::function<sides(sim::world&)>& choose,
                    troupe::runtime::split_brain_policy policy = {}) {
  CAPTURE(seed);
  sim::world w{
    {.nodes = nodes,
     .seed = sim::seed_from_env(seed),
     .cluster = {.split_brain = policy},
     .kinds = [](std::size_t) { return std::vector{sim::ledger_kind()}; }}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  auto chosen = choose(w);
  const auto& minority = chosen.first;
  const auto& majority = chosen.second;
  sim::ledger_tracker ledgers{12};
  for (int i = 0; i < 24; ++i) {
    ledgers.append(w);
  }
  w.check_always(sim::at_most_one_activation);
  w.partition({minority, majority});
  REQUIRE(w.run_until(
    [&] {
      for (auto a : majority) {
        for (auto b : minority) {
          if (!gone(w, a, b)) {
            return false;
          }
        }
      }
      return true;
    },
    60s));
  // Traffic through the majority activates names there.
  for (int i = 0; i < 24; ++i) {
    ledgers.append(w);
  }
  w.run_for(10s);
  for (auto b : minority) {
    CAPTURE(b);
    CHECK_FALSE(w.cluster_state(b)->quorum.quorum);
    for (auto a : majority) {
      CHECK_FALSE(gone(w, b, a));
    }
    for (std::size_t k = 0; k < 12; ++k) {
      auto got = w.request<std::uint64_t>(b, sim::ledger_tracker::name_of(k),
                                          5s, sim::append_atom::value,
                                          std::uint64_t{1000000 + k});
      REQUIRE_FALSE(got);
      CHECK_MESSAGE(is_no_quorum(got.error()), caf::to_string(got.error()));
    }
  }
  for (auto a : majority) {
    CHECK(w.cluster_state(a)->quorum.quorum);
    for (std::size_t k = 0; k < 12; ++k) {
      auto got = w.request<std::string>(a, sim::ledger_tracker::name_of(k), 5s,
                                        sim::entries_atom::value);
      CHECK_MESSAGE(got, caf::to_string(got.error()));
    }
  }
  for (const auto& [name, where] : w.activations()) {
    for (auto b : minority) {
      CHECK_MESSAGE(std::count(where.begin(), where.end(), b) == 0, name);
    }
  }
  w.heal();
  REQUIRE(settled(w, 120s));
  for (auto a : majority) {
    CHECK(incarnation_of(w, a) == 1);
  }
  for (auto b : minority) {
    CHECK(incarnation_of(w, b) > 1);
  }
  CHECK(w.failure() == std::nullopt);
  auto wrong = ledgers.verify(w, false);
  CHECK_MESSAGE(wrong == std::nullopt, *wrong);
  MESSAGE("acknowledged " << ledgers.acknowledged() << ", lost "
                          << ledgers.lost());
}

} // namespace

TEST_CASE("keep_majority: a partition {0,1} | {2,3,4}; the majority serves, "
          "the minority downs nobody and serves nothing; healed, only the "
          "minority rejoins") {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    split_and_heal(seed, 5, [](sim::world&) {
      return sides{{0, 1}, {2, 3, 4}};
    });
  }
}

TEST_CASE("keep_majority: a node cut off for less than down_after "
          "acknowledges nothing it could lose") {
  // A known fault before split-brain resolution: alone, node 0 acted as
  // the fallback of every name, acknowledged appends, and lost them when
  // the partition healed. Now it has no quorum and refuses them.
  auto schedule = sim::parse_schedule("partition(1,2,3,4|0)@0s+3519ms");
  REQUIRE(schedule);
  auto r = sim::run(sim::no_crash_scenario(), 11, *schedule);
  CHECK_MESSAGE(r.ok(), r.failure << "\n  replay: " << r.replay());
}

namespace {

// Runs a scenario with a seed and schedule (`no_crash`: nothing may be
// lost) and fails with the run's failure.
void replay(std::uint64_t seed, const char* schedule,
            const sim::scenario& s = sim::no_crash_scenario()) {
  auto parsed = sim::parse_schedule(schedule);
  REQUIRE(parsed);
  auto r = sim::run(s, seed, *parsed);
  CHECK_MESSAGE(r.ok(), r.failure << "\n  replay: " << r.replay());
}

} // namespace

// Three known faults before transfers had ids and state handed to a node
// that does not host its name was handed on.
TEST_CASE("a drain of one millisecond loses no acknowledged append: the "
          "state handed to a fallback is handed back") {
  replay(17, "drain(2)@1111ms+1ms");
}

TEST_CASE("a transfer whose acknowledgement was lost goes again to the node "
          "it went to, not to where the ring has moved since: its states are "
          "applied once") {
  // Before, the retry went to the partition's new destination and both
  // nodes applied it (7 ids applied twice).
  replay(523, "reset(3-0)@6566ms;partition(0,3|1,2,4)@10566ms+7082ms;"
              "cut(0>2)@14119ms+5344ms;slow(2-4,63ms)@17530ms+3410ms;"
              "cut(4>0)@17631ms+7445ms;freeze(4)@18831ms+1023ms");
}

TEST_CASE("an isolated node's names keep the appends made on the majority "
          "side") {
  replay(14, "partition(2|0,1,3,4)@9790ms+1682ms");
}

TEST_CASE("a one-way cut loses no acknowledged append") {
  replay(12, "cut(4>1)@0s+3160ms");
}

TEST_CASE("keep_majority: an owner that resumes after a freeze finds no "
          "quorum and stops its actors before the fallback's take over") {
  // The swarm's known failure before split-brain resolution
  // (cluster_faults, seed 330): the owner of a partition froze, a fallback
  // activated its names, and the owner, resumed, still ran them: two
  // activations until the hand-back. Resumed, it now sees every other
  // member silent for the length of the freeze, has no quorum, and
  // suspends its actors. (It still depends on the owner noticing the
  // silence before it handles what waited in its mailbox.)
  auto schedule
    = sim::parse_schedule("reset(3-0)@11085ms;freeze(0)@14625ms+4974ms");
  REQUIRE(schedule);
  auto r = sim::run(sim::cluster_faults_scenario(), 330, *schedule);
  CHECK_MESSAGE(r.ok(), r.failure << "\n  replay: " << r.replay());
}

TEST_CASE("a node back from a long freeze serves no names until it has "
          "been heard again, and takes quorum from no other node") {
  counters c{5, 41};
  auto& w = c.w;
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  for (int k = 0; k < 50; ++k) {
    REQUIRE_FALSE(
      w.router(0).send(counter(k), add_atom::value, std::int64_t{1}));
  }
  REQUIRE(w.run_until([&] { return c.b->applied == 50; }, 10s));
  // Frozen for longer than the others tolerate, shorter than down_after:
  // they flag it. Back, it must not flag them in turn (its silence was its
  // own): quorum counts the members nobody flags, and every node would
  // lose it.
  w.check_always([](sim::world& w) -> std::optional<std::string> {
    for (std::size_t i : {0, 1, 2, 4}) {
      if (auto st = w.cluster_state(i); st && !st->quorum.quorum) {
        return fmt::format("{} lost quorum", w.name(i));
      }
    }
    return std::nullopt;
  });
  w.freeze(3);
  REQUIRE(w.run_until([&] { return w.unreachable_seen_by(0, 3); }, 5s));
  w.run_for(1s);
  w.resume(3);
  REQUIRE(w.run_until([&] { return !w.cluster_state(3)->quorum.quorum; }, 1s));
  CHECK(w.context(3)->names->serving().empty());
  REQUIRE(w.run_until(
    [&] {
      return w.cluster_state(3)->quorum.quorum && w.converged()
             && w.ring_settled();
    },
    30s));
  CHECK_MESSAGE(!w.failure(), w.failure().value_or(""));
  for (int k = 0; k < 50; ++k) {
    CHECK(c.get(k % 5, counter(k)) == 1);
  }
}

TEST_CASE("keep_majority: of two equal halves, the one with the lowest "
          "address goes on") {
  // Simulated node i has address 10.0.0.(i+1): node 0's half wins.
  for (std::uint64_t seed = 11; seed <= 14; ++seed) {
    split_and_heal(seed, 4, [](sim::world&) { return sides{{2, 3}, {0, 1}}; });
    split_and_heal(seed + 100, 4, [](sim::world&) {
      return sides{{1, 2}, {0, 3}};
    });
  }
}

namespace {

// The node the others have seen up the longest (the lowest up number).
std::size_t oldest_node(sim::world& w) {
  const auto& state = w.cluster_state(0)->gossip.state;
  std::size_t oldest = 0;
  std::uint64_t lowest = ~std::uint64_t{0};
  for (std::size_t i = 0; i < w.size(); ++i) {
    const auto* m = state.find(w.node_id(i));
    REQUIRE(m != nullptr);
    REQUIRE(m->up_number > 0);
    if (m->up_number < lowest) {
      lowest = m->up_number;
      oldest = i;
    }
  }
  return oldest;
}

} // namespace

TEST_CASE("keep_oldest: the oldest member's side goes on, even as the "
          "smaller one; an oldest member cut off alone gives way") {
  using strategy = troupe::runtime::split_brain_policy::strategy;
  troupe::runtime::split_brain_policy oldest{.kind = strategy::keep_oldest};
  for (std::uint64_t seed = 21; seed <= 24; ++seed) {
    // Two with the oldest against three.
    split_and_heal(
      seed, 5,
      [](sim::world& w) {
        auto o = oldest_node(w);
        sides s;
        for (std::size_t i = 0; i < 5; ++i) {
          (i == o || i == (o + 1) % 5 ? s.second : s.first).push_back(i);
        }
        return s;
      },
      oldest);
    // The oldest alone against four.
    split_and_heal(
      seed + 100, 5,
      [](sim::world& w) {
        auto o = oldest_node(w);
        sides s;
        for (std::size_t i = 0; i < 5; ++i) {
          (i == o ? s.first : s.second).push_back(i);
        }
        return s;
      },
      oldest);
  }
}

TEST_CASE("with more nodes than partitions the ring settles and stays") {
  // Found by the simulated world: the leader claimed a new ring every few
  // seconds, for ever, when some members could own no partition.
  sim::world w{
    {.nodes = 10, .seed = sim::seed_from_env(30), .cluster = {.ring_size = 8}}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  auto epoch = w.cluster_state(0)->gossip.state.current_ring().epoch();
  w.run_for(2min);
  CHECK(w.converged());
  CHECK(w.cluster_state(0)->gossip.state.current_ring().epoch() == epoch);
  CHECK(w.cluster_state(0)->gossip.state.current_ring().members().size() == 8);
}

TEST_CASE("a member that leaves is removed everywhere") {
  sim::world w{{.nodes = 3, .seed = sim::seed_from_env(25)}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  REQUIRE_FALSE(w.leave(2));
  CHECK(w.run_until(
    [&] { return w.sees(0, 2, "removed") && w.sees(1, 2, "removed"); }, 30s));
  auto self = w.status_seen_by(2, 2);
  CHECK((self == "exiting" || self == "removed"));
  w.stop(2);
  CHECK(settled(w));
}

TEST_CASE("a node that left joins again while it runs") {
  sim::world w{{.nodes = 3, .seed = sim::seed_from_env(26)}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  REQUIRE_FALSE(w.leave(2));
  REQUIRE(w.run_until(
    [&] { return w.sees(0, 2, "removed") && w.sees(1, 2, "removed"); }, 30s));
  REQUIRE_FALSE(w.join(2, 0));
  CHECK(w.run_until(
    [&] {
      return w.sees(0, 2, "up") && w.sees(1, 2, "up") && w.sees(2, 2, "up");
    },
    60s));
  CHECK(settled(w));
}

namespace {

// Whether node `i`'s state holds no member `subject` and no observation by
// or of it.
bool forgot(sim::world& w, std::size_t i, std::size_t subject) {
  const auto& state = w.cluster_state(i)->gossip.state;
  const auto& id = w.node_id(subject);
  if (state.find(id) != nullptr) {
    return false;
  }
  return std::none_of(state.reachability().begin(), state.reachability().end(),
                      [&id](const auto& entry) {
                        return entry.first.first == id
                               || entry.first.second == id;
                      });
}

} // namespace

TEST_CASE("a removed member is forgotten once everyone has seen it removed, "
          "with every observation by or of it") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    sim::world w{{.nodes = 4, .seed = sim::seed_from_env(seed)}};
    REQUIRE_FALSE(w.start_all());
    REQUIRE(settled(w));
    // Node 3 is cut off first (so that observations of it are made), then
    // downed by an operator and stopped.
    w.partition({{0, 1, 2}, {3}});
    REQUIRE(w.run_until([&] { return w.unreachable_seen_by(0, 3); }, 30s));
    REQUIRE_FALSE(w.down(0, 3));
    w.crash(3);
    w.heal();
    CHECK(w.run_until(
      [&] { return forgot(w, 0, 3) && forgot(w, 1, 3) && forgot(w, 2, 3); },
      60s));
    CHECK(settled(w));
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(w.cluster_state(i)->gossip.state.members().size() == 3);
    }
  }
}

TEST_CASE("a node forgotten while it was cut off comes back as a new "
          "incarnation; its old one is never taken back") {
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    CAPTURE(seed);
    sim::world w{{.nodes = 5, .seed = sim::seed_from_env(seed)}};
    REQUIRE_FALSE(w.start_all());
    REQUIRE(settled(w));
    auto old = incarnation_of(w, 4);
    w.partition({{0, 1, 2, 3}, {4}});
    REQUIRE(w.run_until(
      [&] {
        return forgot(w, 0, 4) && forgot(w, 1, 4) && forgot(w, 2, 4)
               && forgot(w, 3, 4);
      },
      120s));
    // From here on, no node of the majority may hold node 4's old
    // incarnation again.
    bool taken_back = false;
    auto watch = [&] {
      for (std::size_t i = 0; i < 4; ++i) {
        const auto* m = w.cluster_state(i)->gossip.state.find(w.node_id(4));
        taken_back = taken_back || (m != nullptr && m->incarnation <= old);
      }
    };
    w.heal();
    CHECK(w.run_until(
      [&] {
        watch();
        return w.converged() && w.ring_settled();
      },
      120s));
    CHECK_FALSE(taken_back);
    CHECK(incarnation_of(w, 4) > old);
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK(w.sees(i, 4, "up"));
      CHECK(incarnation_of(w, i) == 1);
    }
  }
}

namespace {

// Answers `get` with an error of a long text, and `(get, n)` with n bytes.
tc::actor_kind teller_kind() {
  return {.kind = "teller",
          .start = [](caf::actor_system& sys, const std::string&,
                      const std::string&) {
            return sys.spawn([](caf::event_based_actor*) {
              return caf::behavior{
                [](get_atom) -> caf::result<std::string> {
                  return caf::make_error(tc::errc::no_route,
                                         std::string(1000, 'x'));
                },
                [](get_atom, std::int64_t n) {
                  return std::string(static_cast<std::size_t>(n), 'y');
                },
              };
            });
          }};
}

} // namespace

TEST_CASE("a remote request's long error text comes back cut, a reply too "
          "large for a frame comes back as an error, and no connection "
          "drops") {
  troupe::runtime::cluster_config settings;
  settings.max_frame_bytes = 65536;
  sim::world w{{.nodes = 3,
                .seed = sim::seed_from_env(8),
                .cluster = settings,
                .kinds = [](std::size_t) {
                  return std::vector<tc::actor_kind>{teller_kind()};
                }}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  std::size_t remote_errors = 0;
  std::size_t remote_too_large = 0;
  for (int k = 0; k < 4; ++k) {
    auto name = fmt::format("teller/{}", k);
    for (std::size_t via = 0; via < 3; ++via) {
      auto failed = w.request<std::string>(via, name, 5s, get_atom::value);
      REQUIRE_FALSE(failed);
      auto text = caf::to_string(failed.error());
      CHECK_MESSAGE(text.find("xxxxxxxxxx") != std::string::npos, text);
      if (text.find(std::string(1000, 'x')) == std::string::npos) {
        ++remote_errors; // cut on its way back
        CHECK(text.size() < 400);
      }
      auto big = w.request<std::string>(via, name, 5s, get_atom::value,
                                        std::int64_t{100000});
      if (big) {
        CHECK(big->size() == 100000); // asked on the node that runs it
      } else {
        auto why = caf::to_string(big.error());
        CHECK_MESSAGE(why.find("cluster.max_frame_bytes") != std::string::npos,
                      why);
        ++remote_too_large;
      }
    }
  }
  CHECK(remote_errors > 0);
  CHECK(remote_too_large > 0);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(w.counter(i, "troupe_cluster_frames_refused_total") == 0);
  }
  CHECK(w.converged());
}

namespace {

// An actor whose exported state is 100,000 bytes.
tc::actor_kind blob_kind() {
  return {.kind = "blob",
          .start = [](caf::actor_system& sys, const std::string&,
                      const std::string&) {
            return sys.spawn([](caf::event_based_actor*) {
              return caf::behavior{
                [](get_atom) { return std::int64_t{1}; },
                [](tc::handoff_atom) { return std::string(100000, 'z'); },
                [](tc::handoff_atom, const std::string&) {},
              };
            });
          }};
}

} // namespace

TEST_CASE("a state too large for a frame is not handed off: an error names "
          "it, no connection drops, and the ring settles") {
  troupe::runtime::cluster_config settings;
  settings.max_frame_bytes = 65536;
  sim::world w{{.nodes = 3,
                .seed = sim::seed_from_env(9),
                .cluster = settings,
                .kinds = [](std::size_t) {
                  return std::vector<tc::actor_kind>{blob_kind()};
                }}};
  REQUIRE_FALSE(w.start(0));
  REQUIRE_FALSE(w.start(1, {0}));
  REQUIRE(settled(w));
  for (int k = 0; k < 16; ++k) {
    auto name = fmt::format("blob/{}", k);
    REQUIRE(w.request<std::int64_t>(static_cast<std::size_t>(k % 2), name, 5s,
                                    get_atom::value));
  }
  REQUIRE_FALSE(w.start(2, {0}));
  CHECK(settled(w));
  std::uint64_t too_large = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    too_large += w.counter(i, "troupe_cluster_handoff_states_too_large_total");
    CHECK(w.counter(i, "troupe_cluster_frames_refused_total") == 0);
  }
  CHECK(too_large > 0);
  for (int k = 0; k < 16; ++k) {
    CHECK(w.request<std::int64_t>(2, fmt::format("blob/{}", k), 5s,
                                  get_atom::value));
  }
}

TEST_CASE("messages for a crashed owner's names go to fallbacks") {
  counters c{5, 26};
  auto& w = c.w;
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  auto router = w.router(0);
  std::vector<std::string> owned_by_4;
  for (int k = 0; owned_by_4.size() < 50 && k < 100000; ++k) {
    auto owner = router.owner_of(counter(k));
    REQUIRE(owner);
    if (*owner == w.node_id(4)) {
      owned_by_4.push_back(counter(k));
    }
  }
  REQUIRE(owned_by_4.size() == 50);
  w.crash(4);
  REQUIRE(w.run_until(
    [&] {
      for (std::size_t i = 0; i < 4; ++i) {
        auto o = w.router(i).owner_of(owned_by_4.front());
        if (!o || *o == w.node_id(4)) {
          return false;
        }
      }
      return true;
    },
    10s));
  for (const auto& name : owned_by_4) {
    for (std::size_t from = 0; from < 4; ++from) {
      REQUIRE_FALSE(
        w.router(from).send(name, add_atom::value, std::int64_t{1}));
    }
  }
  w.run_for(1s);
  for (const auto& name : owned_by_4) {
    CAPTURE(name);
    CHECK(c.get(0, name) == 4);
    REQUIRE(c.b->activations[name].size() == 1);
    CHECK(c.b->activations[name].front() != 4);
  }
}

TEST_CASE("a joining node takes partitions with their state, totals exact") {
  counters c{6, 27};
  auto& w = c.w;
  for (std::size_t i = 0; i < 5; ++i) {
    REQUIRE_FALSE(w.start(i));
  }
  REQUIRE(settled(w));
  constexpr int names = 300;
  std::map<std::string, std::int64_t> sent;
  auto send_round = [&](std::size_t from) {
    for (int k = 0; k < names; ++k) {
      REQUIRE_FALSE(
        w.router(from).send(counter(k), add_atom::value, std::int64_t{1}));
      ++sent[counter(k)];
    }
  };
  for (std::size_t from = 0; from < 5; ++from) {
    send_round(from);
  }
  w.run_for(100ms);
  auto epoch_before = w.cluster_state(0)->gossip.state.current_ring().epoch();
  // The sixth node joins while increments keep coming.
  REQUIRE_FALSE(w.start(5));
  int rounds = 0;
  while (!(w.converged() && w.ring_settled()) && rounds < 400) {
    send_round(static_cast<std::size_t>(rounds % 5));
    w.run_for(20ms);
    ++rounds;
  }
  REQUIRE(settled(w));
  CHECK(w.cluster_state(0)->gossip.state.current_ring().epoch() > epoch_before);
  send_round(5);
  std::int64_t total = 0;
  for (const auto& [name, n] : sent) {
    total += n;
  }
  REQUIRE(w.run_until([&] { return c.b->applied == total; }, 30s));
  for (const auto& [name, n] : sent) {
    CAPTURE(name);
    CHECK(c.get(name.size() % 6, name) == n);
  }
  // Some actors moved to the new node, carrying their counts.
  auto moved = 0;
  for (const auto& [name, where] : c.b->activations) {
    if (where.back() == 5 && where.size() > 1) {
      ++moved;
    }
  }
  CHECK(moved > 0);
  MESSAGE("rounds during the join: " << rounds << ", actors moved: " << moved);
}

namespace {

// Four of `c`'s five nodes settle, counters 0 to `names` - 1 get one
// increment each (through every node), then the fifth node starts.
void join_fifth_after_counts(counters& c, int names) {
  auto& w = c.w;
  for (std::size_t i = 0; i < 4; ++i) {
    REQUIRE_FALSE(w.start(i));
  }
  REQUIRE(settled(w));
  for (int k = 0; k < names; ++k) {
    REQUIRE_FALSE(w.router(static_cast<std::size_t>(k % 4))
                    .send(counter(k), add_atom::value, std::int64_t{1}));
  }
  REQUIRE(w.run_until([&] { return c.b->applied == names; }, 30s));
  REQUIRE_FALSE(w.start(4));
}

} // namespace

TEST_CASE("a join while connections reset at random: every state is "
          "handed over exactly once") {
  // Frames in flight are lost at each reset: transfers are sent again,
  // some whole, some after their items had arrived but not their done,
  // some after the acknowledgement was lost. Counts are exact only if no
  // state is dropped and none is applied twice.
  constexpr int names = 200;
  int resets = 0;
  for (std::uint64_t seed = 1; seed <= 24; ++seed) {
    CAPTURE(seed);
    counters c{5, 700 + seed};
    auto& w = c.w;
    join_fifth_after_counts(c, names);
    auto until = w.now() + 4s;
    while (w.now() < until) {
      auto pause = std::uniform_int_distribution<int>{1, 60}(w.rng());
      w.run_for(std::chrono::milliseconds{pause});
      auto other = std::uniform_int_distribution<std::size_t>{0, 3}(w.rng());
      w.reset(4, other);
      ++resets;
    }
    REQUIRE(settled(w, 120s));
    w.run_for(2s);
    for (int k = 0; k < names; ++k) {
      CAPTURE(counter(k));
      CHECK(c.get(static_cast<std::size_t>(k % 5), counter(k)) == 1);
    }
  }
  MESSAGE("connections reset: " << resets);
}

TEST_CASE("a new owner that crashes while partitions are on their way to "
          "it does not hold the ring: it changes again and every name "
          "answers") {
  constexpr int names = 200;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    counters c{5, 800 + seed};
    auto& w = c.w;
    join_fifth_after_counts(c, names);
    // The moment the first transfer to it starts, the new node dies.
    REQUIRE(w.run_until(
      [&] {
        for (std::size_t i = 0; i < 4; ++i) {
          if (w.gauge(i, "troupe_cluster_transfers") > 0) {
            return true;
          }
        }
        return false;
      },
      30s));
    w.crash(4);
    REQUIRE(settled(w, 120s));
    // What reached node 4 before it died died with it (a memory kind);
    // nothing is counted twice, and every name answers.
    int lost = 0;
    for (int k = 0; k < names; ++k) {
      CAPTURE(counter(k));
      auto n = c.get(static_cast<std::size_t>(k % 4), counter(k));
      CHECK(n <= 1);
      lost += n == 0 ? 1 : 0;
    }
    MESSAGE("counters that died with the new owner: " << lost);
  }
}

TEST_CASE("a request that cannot be sent on to its name's node fails at "
          "once with the reason, and is counted") {
  troupe::runtime::cluster_config settings;
  settings.max_frame_bytes = 65536;
  counters c{3, 41, settings};
  auto& w = c.w;
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  // A name node 1 hosts, asked through node 0 with a message too large
  // for one frame.
  std::string name;
  for (int k = 0; name.empty(); ++k) {
    const auto& view = *w.context(0)->routing();
    if (view.target(view.current.partition_of_name(counter(k)))
        == w.node_id(1)) {
      name = counter(k);
    }
  }
  auto failed_before = w.counter(0, "troupe_cluster_route_failed_total");
  auto asked = w.now();
  auto got = w.request<std::int64_t>(0, name, 5s, get_atom::value,
                                     std::string(100000, 'x'));
  REQUIRE_FALSE(got);
  auto text = caf::to_string(got.error());
  CHECK_MESSAGE(text.find("over cluster.max_frame_bytes (65536)")
                  != std::string::npos,
                text);
  CHECK(w.now() - asked < 100ms);
  CHECK(w.counter(0, "troupe_cluster_route_failed_total") == failed_before + 1);
  // The connection stayed: the name answers through node 0.
  CHECK(c.get(0, name) == 0);
}

namespace {

using late_atom = caf::atom_constant<caf::atom("late")>;

// Answers `(get, n)` with n at once, and `get` with 7 two seconds later.
tc::actor_kind slow_kind() {
  return {.kind = "slow",
          .start = [](caf::actor_system& sys, const std::string&,
                      const std::string&) {
            return sys.spawn([](caf::event_based_actor* self) {
              auto waiting
                = std::make_shared<std::vector<caf::response_promise>>();
              return caf::behavior{
                [](get_atom, std::int64_t n) { return n; },
                [](tc::handoff_atom) { return std::string{}; },
                [self, waiting](get_atom) {
                  waiting->push_back(self->make_response_promise());
                  self->delayed_send(self, 2s, late_atom::value);
                },
                [waiting](late_atom) {
                  for (auto& rp : *waiting) {
                    rp.deliver(std::int64_t{7});
                  }
                  waiting->clear();
                },
              };
            });
          }};
}

} // namespace

TEST_CASE("a reply whose requester's node cannot be reached is counted and "
          "logged, not dropped in silence") {
  sim::world w{{.nodes = 3,
                .seed = sim::seed_from_env(31),
                .net = {.cut_reset_after = 100ms},
                .kinds = [](std::size_t) {
                  return std::vector<tc::actor_kind>{slow_kind()};
                }}};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  // A name that runs on another node than node 0.
  std::string name;
  std::size_t host = 0;
  for (int k = 0; name.empty(); ++k) {
    auto candidate = fmt::format("slow/{}", k);
    REQUIRE(w.request<std::int64_t>(0, candidate, 5s, get_atom::value,
                                    std::int64_t{k}));
    auto where = w.activations()[candidate];
    if (where.size() == 1 && where[0] != 0) {
      name = candidate;
      host = where[0];
    }
  }
  // The request reaches the name's node; before the answer comes, node 0
  // is cut off and its connections reset.
  auto cut = sim::parse_schedule("partition(0|1,2)@500ms+10s");
  REQUIRE(cut);
  w.schedule(*cut);
  auto got = w.request<std::int64_t>(0, name, 3s, get_atom::value);
  CHECK_FALSE(got);
  CHECK(w.counter(host, "troupe_cluster_replies_unsent_total") == 1);
}

TEST_CASE("a leaving node hands everything off before it exits") {
  counters c{5, 28};
  auto& w = c.w;
  REQUIRE_FALSE(w.start_all());
  REQUIRE(settled(w));
  constexpr int names = 300;
  for (int k = 0; k < names; ++k) {
    REQUIRE_FALSE(
      w.router(0).send(counter(k), add_atom::value, std::int64_t{3}));
  }
  REQUIRE(w.run_until([&] { return c.b->applied == 3 * names; }, 30s));
  REQUIRE_FALSE(w.leave(4));
  REQUIRE(w.run_until([&] { return w.sees(0, 4, "removed"); }, 30s));
  w.stop(4);
  REQUIRE(settled(w));
  for (int k = 0; k < names; ++k) {
    CHECK(c.get(1, counter(k)) == 3);
  }
}

namespace {

// Kills node `i`'s router and runs until its supervisor has started a new
// one.
void crash_router(sim::world& w, std::size_t i) {
  auto ctx = w.context(i);
  auto before = ctx->router();
  REQUIRE(before);
  caf::anon_send_exit(before, caf::exit_reason::kill);
  REQUIRE(
    w.run_until([&] { return ctx->router() && ctx->router() != before; }, 10s));
}

} // namespace

TEST_CASE("a router that crashes comes back watching the activations it "
          "left: an activation that dies later is started again") {
  counters c{3, 31};
  REQUIRE_FALSE(c.w.start_all());
  REQUIRE(settled(c.w));
  for (int k = 0; k < 12; ++k) {
    REQUIRE_FALSE(
      c.w.send(static_cast<std::size_t>(k % 3), counter(k),
               caf::make_message(add_atom::value, std::int64_t{1})));
  }
  for (int k = 0; k < 12; ++k) {
    REQUIRE(c.get(0, counter(k)) == 1);
  }
  auto ctx = c.w.context(1);
  crash_router(c.w, 1);
  c.w.run_for(1s);
  auto hosted = ctx->names->activations();
  REQUIRE_FALSE(hosted.empty());
  // Names hosted there still answer, with their state.
  for (const auto& [name, a] : hosted) {
    CHECK(c.get(0, name) == 1);
  }
  // One of them dies: the new router sees it, and the next message starts
  // it again (from no state: it exported none).
  auto [victim, actor] = *hosted.begin();
  caf::anon_send_exit(actor, caf::exit_reason::kill);
  c.w.run_for(1s);
  CHECK(c.get(0, victim) == 0);
  CHECK(c.get(2, victim) == 0);
  CHECK(sim::at_most_one_activation(c.w) == std::nullopt);
}

TEST_CASE("idle actors are passivated and come back with their state, "
          "also after the router that kept it crashed") {
  for (bool router_crash : {false, true}) {
    CAPTURE(router_crash);
    troupe::runtime::cluster_config settings;
    settings.passivate_after = 300ms;
    counters c{2, router_crash ? 32U : 29U, settings};
    auto& w = c.w;
    REQUIRE_FALSE(w.start_all());
    REQUIRE(settled(w));
    REQUIRE_FALSE(
      w.router(0).send("counter/7", add_atom::value, std::int64_t{5}));
    REQUIRE(w.run_until([&] { return c.b->applied == 5; }, 10s));
    auto owner = *w.router(0).owner_of("counter/7") == w.node_id(0) ? 0 : 1;
    REQUIRE(w.run_until(
      [&] {
        return w.counter(owner, "troupe_cluster_passivations_total") == 1
               && w.activations().empty();
      },
      10s));
    if (router_crash) {
      crash_router(w, owner);
    }
    CHECK(c.get(1, "counter/7") == 5);
    CHECK(c.b->activations["counter/7"].size() == 2);
  }
}

TEST_CASE("a router that crashes while it hands partitions off loses no "
          "state and applies none twice") {
  // The sender's router dies with transfers gathering, sent and not yet
  // acknowledged: the states of actors it had stopped, and what it was
  // handed itself, must survive it.
  constexpr int names = 200;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    counters c{5, 900 + seed};
    auto& w = c.w;
    join_fifth_after_counts(c, names);
    std::size_t sender = 0;
    REQUIRE(w.run_until(
      [&] {
        for (std::size_t i = 0; i < 4; ++i) {
          if (w.gauge(i, "troupe_cluster_transfers") > 0) {
            sender = i;
            return true;
          }
        }
        return false;
      },
      30s));
    crash_router(w, sender);
    // And the new owner's router, while states arrive.
    w.run_for(std::chrono::milliseconds{
      std::uniform_int_distribution<int>{0, 50}(w.rng())});
    crash_router(w, 4);
    REQUIRE(settled(w, 120s));
    w.run_for(2s);
    for (int k = 0; k < names; ++k) {
      CAPTURE(counter(k));
      CHECK(c.get(static_cast<std::size_t>(k % 5), counter(k)) == 1);
    }
    CHECK(sim::at_most_one_activation(w) == std::nullopt);
  }
}

TEST_SUITE_END();

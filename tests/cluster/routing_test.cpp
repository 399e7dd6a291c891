// Routing by name on five in-process nodes: every name reaches exactly one
// activation, fallbacks take over from a crashed owner, handoff carries
// state on a join and before a leave.
#include "cluster/name_table.hpp"
#include "cluster/router_client.hpp"
#include "tests/testkit/cluster_harness.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <caf/event_based_actor.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

using namespace std::chrono_literals;
using namespace troupe;

namespace {

using add_atom = caf::atom_constant<caf::atom("add")>;
using get_atom = caf::atom_constant<caf::atom("get")>;

// What the counters did, as the test sees it.
struct ledger {
  std::mutex mtx;
  // name → node indexes where it was activated, in order
  std::map<std::string, std::vector<std::size_t>> activations;
  std::atomic<std::int64_t> applied{0};
};

// A counter: starts from the state it is given, exports its count.
cluster::actor_kind counter_kind(std::shared_ptr<ledger> book,
                                 std::size_t node_index) {
  return {
    .kind = "counter",
    .start = [book, node_index](caf::actor_system& sys, const std::string& name,
                                const std::string& state) {
      {
        std::lock_guard<std::mutex> guard{book->mtx};
        book->activations[name].push_back(node_index);
      }
      std::int64_t start = state.empty() ? 0 : std::stoll(state);
      return sys.spawn([book, start](caf::event_based_actor*) {
        auto count = std::make_shared<std::int64_t>(start);
        return caf::behavior{
          [book, count](add_atom, std::int64_t n) {
            *count += n;
            book->applied += n;
          },
          [count](get_atom) { return *count; },
          [count](cluster::handoff_atom) { return std::to_string(*count); },
          [count](cluster::handoff_atom, const std::string& more) {
            *count += std::stoll(more);
          },
        };
      });
    }};
}

struct routed_cluster {
  std::shared_ptr<ledger> book = std::make_shared<ledger>();
  testkit::cluster_harness c;

  // Fast gossip, but a failure detector that tolerates the pauses of a
  // loaded test machine (a crash is still seen at once: its connections
  // close).
  static runtime::cluster_config settings() {
    auto s = testkit::fast_cluster_settings();
    s.acceptable_pause = 10s;
    s.down_after = 60s;
    return s;
  }

  explicit routed_cluster(std::size_t n,
                          runtime::cluster_config cluster = settings())
    : c{{.nodes = n, .cluster = cluster, .kinds = [this](std::size_t i) {
           return std::vector<cluster::actor_kind>{counter_kind(book, i)};
         }}} {}

  std::size_t index_of(const std::string& node_id) {
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (c.node_id(i) == node_id) {
        return i;
      }
    }
    return c.size();
  }

  std::int64_t get(std::size_t from, const std::string& name) {
    auto reply
      = c.at(from).router().request(name, caf::make_message(get_atom::value));
    REQUIRE_MESSAGE(reply, caf::to_string(reply.error()));
    REQUIRE(reply->match_elements<std::int64_t>());
    return reply->get_as<std::int64_t>(0);
  }
};

// Prints the handoff and routing lines of every node's log (on failure).
void dump_logs(const std::filesystem::path& dir) {
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (f.path().extension() != ".log") {
      continue;
    }
    std::ifstream in{f.path()};
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("handoff") != std::string::npos
          || line.find("route.") != std::string::npos
          || line.find("ring.") != std::string::npos
          || line.find("unreachable") != std::string::npos) {
        MESSAGE(f.path().parent_path().filename().string() << ": " << line);
      }
    }
  }
}

std::string counter(int i) {
  return fmt::format("counter/{}", i);
}

} // namespace

TEST_CASE("10,000 names sent from every node each reach one activation") {
  routed_cluster rc{5};
  auto& c = rc.c;
  for (std::size_t i = 0; i < 5; ++i) {
    REQUIRE_FALSE(c.start(i));
  }
  REQUIRE(c.wait_converged(20s));
  REQUIRE(c.wait_for([&] { return c.ring_settled(); }, 20s));
  constexpr int names = 10000;
  for (std::size_t from = 0; from < 5; ++from) {
    auto router = c.at(from).router();
    for (int k = 0; k < names; ++k) {
      auto err = router.send(counter(k), add_atom::value, std::int64_t{1});
      REQUIRE_MESSAGE(!err, caf::to_string(err));
    }
  }
  bool all = c.wait_for([&] { return rc.book->applied == 5 * names; }, 60s);
  for (std::size_t i = 0; i < 5 && !all; ++i) {
    auto st = c.at(i).router().stats();
    MESSAGE("node " << i << " local=" << st->delivered_locally
                    << " remote=" << st->sent_remote << " fwd=" << st->forwarded
                    << " failed=" << st->failed << " activations="
                    << st->activations << " running=" << st->running);
  }
  MESSAGE("applied " << rc.book->applied.load());
  for (std::size_t i = 0; i < 5 && !all; ++i) {
    auto v = c.at(i).cluster().context()->routing();
    MESSAGE("node " << i << " epoch=" << v->current.epoch()
                    << " avail=" << v->available.size()
                    << " members=" << v->current.members().size()
                    << " owner0=" << v->current.owner(0)
                    << " owner63=" << v->current.owner(63));
  }
  REQUIRE(all);
  auto router = c.at(0).router();
  std::lock_guard<std::mutex> guard{rc.book->mtx};
  REQUIRE(rc.book->activations.size() == names);
  std::set<std::size_t> hosts;
  for (const auto& [name, where] : rc.book->activations) {
    INFO(name << " activated on " << where.size() << " nodes, first "
              << where.front() << ", last " << where.back());
    REQUIRE(where.size() == 1);
    auto owner = router.owner_of(name);
    REQUIRE(owner);
    CHECK(where.front() == rc.index_of(*owner));
    hosts.insert(where.front());
  }
  CHECK(hosts.size() == 5);
  // Bad names are errors, not crashes.
  CHECK(router.send("no-kind-here", add_atom::value, std::int64_t{1}));
  CHECK(router.send("/42", add_atom::value, std::int64_t{1}));
  auto unknown = router.request("nosuchkind/1",
                                caf::make_message(get_atom::value));
  CHECK_FALSE(unknown);
}

TEST_CASE("messages for a crashed owner's names go to fallbacks") {
  routed_cluster rc{5};
  auto& c = rc.c;
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(20s));
  REQUIRE(c.wait_for([&] { return c.ring_settled(); }, 20s));
  auto router = c.at(0).router();
  std::vector<std::string> owned_by_4;
  for (int k = 0; owned_by_4.size() < 50 && k < 100000; ++k) {
    auto owner = router.owner_of(counter(k));
    REQUIRE(owner);
    if (*owner == c.node_id(4)) {
      owned_by_4.push_back(counter(k));
    }
  }
  REQUIRE(owned_by_4.size() == 50);
  c.crash(4);
  REQUIRE(c.wait_for(
    [&] {
      for (std::size_t i = 0; i < 4; ++i) {
        if (!c.unreachable_seen_by(i, 4)) {
          return false;
        }
      }
      return true;
    },
    20s));
  for (std::size_t from = 0; from < 4; ++from) {
    REQUIRE(c.wait_for(
      [&] {
        auto o = c.at(from).router().owner_of(owned_by_4.front());
        return o && *o != c.node_id(4);
      },
      10s));
  }
  for (const auto& name : owned_by_4) {
    for (std::size_t from = 0; from < 4; ++from) {
      REQUIRE_FALSE(
        c.at(from).router().send(name, add_atom::value, std::int64_t{1}));
    }
  }
  // Sends from different nodes are not ordered with node 0's read: wait
  // until all four have arrived.
  for (const auto& name : owned_by_4) {
    CAPTURE(name);
    CHECK(c.wait_for([&] { return rc.get(0, name) == 4; }, 10s));
  }
  std::lock_guard<std::mutex> guard{rc.book->mtx};
  for (const auto& name : owned_by_4) {
    REQUIRE(rc.book->activations[name].size() == 1);
    CHECK(rc.book->activations[name].front() != 4);
  }
}

TEST_CASE("a joining node takes partitions with their state, totals exact") {
  routed_cluster rc{6};
  auto& c = rc.c;
  for (std::size_t i = 0; i < 5; ++i) {
    REQUIRE_FALSE(c.start(i));
  }
  REQUIRE(c.wait_converged(20s));
  REQUIRE(c.wait_for([&] { return c.ring_settled(); }, 20s));
  constexpr int names = 300;
  std::map<std::string, std::int64_t> sent;
  auto send_round = [&](std::size_t from) {
    for (int k = 0; k < names; ++k) {
      auto err = c.at(from).router().send(counter(k), add_atom::value,
                                          std::int64_t{1});
      REQUIRE_FALSE(err);
      ++sent[counter(k)];
    }
  };
  for (std::size_t from = 0; from < 5; ++from) {
    send_round(from);
  }
  // Node 0 hears of the new ring.
  auto rings = std::make_shared<std::atomic<std::uint64_t>>(0);
  auto listener = c.at(0).system().spawn([rings](caf::event_based_actor*) {
    return caf::behavior{[rings](const cluster::member_event& ev) {
      if (ev.kind == cluster::member_event_kind::ring_changed) {
        *rings = ev.ring_epoch;
      }
    }};
  });
  REQUIRE_FALSE(c.at(0).cluster().subscribe(listener));
  auto epoch_before
    = c.at(0).cluster().snapshot()->gossip.state.current_ring().epoch();
  // The sixth node joins while increments keep coming.
  REQUIRE_FALSE(c.start(5));
  int rounds = 0;
  while (!c.ring_settled() && rounds < 400) {
    send_round(static_cast<std::size_t>(rounds % 5));
    ++rounds;
  }
  REQUIRE(c.wait_for([&] { return c.ring_settled(); }, 30s));
  CHECK(c.wait_for([&] { return rings->load() > epoch_before; }, 10s));
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
  send_round(5);
  std::int64_t total = 0;
  for (const auto& [name, n] : sent) {
    total += n;
  }
  REQUIRE(c.wait_for([&] { return rc.book->applied == total; }, 30s));
  int wrong = 0;
  for (const auto& [name, n] : sent) {
    auto got = rc.get(static_cast<std::size_t>(name.size() % 6), name);
    CHECK(got == n);
    if (got != n) {
      ++wrong;
      std::lock_guard<std::mutex> guard{rc.book->mtx};
      std::string where;
      for (auto i : rc.book->activations[name]) {
        where += std::to_string(i) + " ";
      }
      MESSAGE(
        name
        << " partition "
        << c.at(0).cluster().context()->routing()->current.partition_of_name(
             name)
        << " activated on " << where);
    }
  }
  if (wrong > 0) {
    dump_logs(c.dir());
  }
  // Some actors moved to the new node, carrying their counts.
  auto moved = 0;
  std::lock_guard<std::mutex> guard{rc.book->mtx};
  for (const auto& [name, where] : rc.book->activations) {
    if (where.back() == 5 && where.size() > 1) {
      ++moved;
    }
  }
  CHECK(moved > 0);
  MESSAGE("rounds during the join: " << rounds << ", actors moved: " << moved);
}

TEST_CASE("a leaving node hands everything off before it exits") {
  routed_cluster rc{5};
  auto& c = rc.c;
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(20s));
  REQUIRE(c.wait_for([&] { return c.ring_settled(); }, 20s));
  constexpr int names = 300;
  for (int k = 0; k < names; ++k) {
    REQUIRE_FALSE(
      c.at(0).router().send(counter(k), add_atom::value, std::int64_t{3}));
  }
  bool all = c.wait_for([&] { return rc.book->applied == 3 * names; }, 30s);
  MESSAGE("applied " << rc.book->applied.load());
  for (std::size_t i = 0; i < 5 && !all; ++i) {
    auto st = c.at(i).router().stats();
    auto ctx = c.at(i).cluster().context();
    auto v = ctx->routing();
    std::size_t held = 0;
    for (std::uint32_t p = 0; p < v->current.size(); ++p) {
      held += ctx->names->held(p) ? 1 : 0;
    }
    MESSAGE("node " << i << " local=" << st->delivered_locally
                    << " remote=" << st->sent_remote << " fwd=" << st->forwarded
                    << " failed=" << st->failed << " activations="
                    << st->activations << " running=" << st->running
                    << " held=" << held << " epoch=" << v->current.epoch()
                    << " avail=" << v->available.size() << " in="
                    << st->handoffs_in << " out=" << st->handoffs_out);
  }
  REQUIRE(all);
  REQUIRE_FALSE(c.at(4).cluster().leave());
  REQUIRE(c.wait_for([&] { return c.sees(0, 4, "removed"); }, 30s));
  c.stop(4);
  REQUIRE(c.wait_for([&] { return c.ring_settled(); }, 30s));
  for (int k = 0; k < names; ++k) {
    CHECK(rc.get(1, counter(k)) == 3);
  }
}

TEST_CASE("idle actors are passivated and come back with their state") {
  auto settings = routed_cluster::settings();
  settings.passivate_after = 300ms;
  routed_cluster rc{2, settings};
  auto& c = rc.c;
  REQUIRE_FALSE(c.start_all());
  REQUIRE(c.wait_converged(20s));
  REQUIRE(c.wait_for([&] { return c.ring_settled(); }, 20s));
  REQUIRE_FALSE(
    c.at(0).router().send("counter/7", add_atom::value, std::int64_t{5}));
  REQUIRE(c.wait_for([&] { return rc.book->applied == 5; }, 10s));
  auto owner = rc.index_of(*c.at(0).router().owner_of("counter/7"));
  REQUIRE(owner < 2);
  REQUIRE(c.wait_for(
    [&] {
      auto st = c.at(owner).router().stats();
      return st && st->passivations == 1 && st->running == 0;
    },
    10s));
  CHECK(rc.get(1, "counter/7") == 5);
  std::lock_guard<std::mutex> guard{rc.book->mtx};
  CHECK(rc.book->activations["counter/7"].size() == 2);
}

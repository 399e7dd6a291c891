// Routing by name on five in-process nodes: every name reaches exactly one
// activation, fallbacks take over from a crashed owner, handoff carries
// state on a join and before a leave.
#include "troupe/cluster/atoms.hpp"
#include "troupe/cluster/name_table.hpp"
#include "troupe/cluster/router_client.hpp"
#include "troupe/testkit/cluster_harness.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

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
            return *count;
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

  // Starts every node and waits for one settled ring.
  void start_settled() {
    for (std::size_t i = 0; i < c.size(); ++i) {
      REQUIRE_FALSE(c.start(i));
    }
    REQUIRE(c.wait_converged(20s));
    REQUIRE(c.wait_for([this] { return c.ring_settled(); }, 20s));
  }

  std::int64_t get(std::size_t from, const std::string& name) {
    auto reply
      = c.at(from).router().request(name, caf::make_message(get_atom::value));
    REQUIRE_MESSAGE(reply, caf::to_string(reply.error()));
    REQUIRE(reply->match_elements<std::int64_t>());
    return reply->get_as<std::int64_t>(0);
  }
};

std::string counter(int i) {
  return fmt::format("counter/{}", i);
}

} // namespace

namespace {

using go_atom = caf::atom_constant<caf::atom("go")>;
using seen_atom = caf::atom_constant<caf::atom("seen")>;

// Keeps the numbers it gets, in order.
caf::behavior sequence_actor(caf::event_based_actor*) {
  auto seen = std::make_shared<std::vector<std::int64_t>>();
  return {
    [seen](std::int64_t n) { seen->push_back(n); },
    [seen](seen_atom) { return *seen; },
  };
}

} // namespace

TEST_CASE("a send by name never overtakes an earlier one that went through "
          "the router") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto ctx = std::make_shared<cluster::context>();
  ctx->node_id = "self";
  ctx->names = std::make_shared<cluster::name_table>();
  cluster::routing_view v;
  v.current = cluster::ring{1, std::vector<std::string>(8, "self"), {}};
  v.available = {"self"};
  v.self = "self";
  v.index();
  ctx->set_routing(std::make_shared<const cluster::routing_view>(v));
  const std::string name = "seq/1";
  auto p = v.current.partition_of_name(name);
  auto slot = cluster::context::diverted_slot(name);
  // The name runs here.
  auto target = sys.spawn(sequence_actor);
  REQUIRE(ctx->names->deliver(p, {.name = name,
                                  .msg = caf::make_message(std::int64_t{0})})
          == cluster::delivery_outcome::activate);
  ctx->names->activated(name, target);
  // A router that keeps what it is given until told to route it here.
  auto router = sys.spawn([ctx, p](caf::event_based_actor*) {
    auto held = std::make_shared<std::vector<cluster::delivery>>();
    return caf::behavior{
      [held](cluster::route_send_atom, std::string& n, caf::message& m) {
        held->push_back({.name = std::move(n), .msg = std::move(m)});
      },
      [held, ctx, p](go_atom) {
        for (auto& d : *held) {
          auto slot = cluster::context::diverted_slot(d.name);
          ctx->names->deliver(p, std::move(d));
          ctx->diverted_routed(slot);
        }
        held->clear();
        return true;
      }};
  });
  ctx->set_router(router);
  cluster::router_client client{sys, ctx};
  // 1 finds its partition moved away (a handoff the view does not show
  // yet): it goes through the router.
  static_cast<void>(ctx->names->move_out(p));
  REQUIRE_FALSE(client.send(name, std::int64_t{1}));
  CHECK(ctx->is_diverted(slot));
  // The partition is back; 1 still waits in the router. 2 and 3 must not
  // go past it into the actor's mailbox.
  ctx->names->move_in(p);
  REQUIRE_FALSE(client.send(name, std::int64_t{2}));
  REQUIRE_FALSE(client.send(name, caf::make_message(std::int64_t{3})));
  caf::scoped_actor self{sys};
  auto seen = [&] {
    std::vector<std::int64_t> out;
    self->request(target, caf::infinite, seen_atom::value)
      .receive([&](std::vector<std::int64_t>& xs) { out = std::move(xs); },
               [](caf::error& err) { FAIL(caf::to_string(err)); });
    return out;
  };
  CHECK(seen() == std::vector<std::int64_t>{0});
  self->request(router, caf::infinite, go_atom::value)
    .receive([](bool) {}, [](caf::error& err) { FAIL(caf::to_string(err)); });
  CHECK_FALSE(ctx->is_diverted(slot));
  // Routed, they are in order; the next send takes the fast path again.
  REQUIRE_FALSE(client.send(name, std::int64_t{4}));
  CHECK(seen() == std::vector<std::int64_t>{0, 1, 2, 3, 4});
  CHECK_FALSE(ctx->is_diverted(slot));
  // The count never goes below zero (a new router starts it afresh).
  ctx->diverted_routed(slot);
  CHECK_FALSE(ctx->is_diverted(slot));
  self->send_exit(router, caf::exit_reason::user_shutdown);
  self->send_exit(target, caf::exit_reason::user_shutdown);
}

TEST_CASE("a drain and an undrain under load, on real sockets: every "
          "request is answered, every increment kept once") {
  routed_cluster rc{3};
  auto& c = rc.c;
  rc.start_settled();
  auto owns = [&c](std::size_t i) {
    auto owners = c.at(0).cluster().context()->routing()->current.members();
    return std::find(owners.begin(), owners.end(), c.node_id(i))
           != owners.end();
  };
  REQUIRE(owns(1));
  // Requests through every node, one after another, while node 1 drains
  // and comes back.
  constexpr int names = 60;
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0};
  std::atomic<int> unanswered{0};
  std::vector<std::string> failures;
  std::thread load{[&] {
    for (int k = 0; !stop; ++k) {
      auto reply
        = c.at(static_cast<std::size_t>(k) % 3)
            .router()
            .request(counter(k % names),
                     caf::make_message(add_atom::value, std::int64_t{1}));
      if (reply) {
        ++acked;
      } else if (++unanswered <= 10) {
        failures.push_back(caf::to_string(reply.error()));
      }
    }
  }};
  auto at_least = [&acked](int n) { return acked >= n; };
  // Stops the load however the test ends.
  auto stopper = std::shared_ptr<void>(nullptr, [&](void*) {
    stop = true;
    if (load.joinable()) {
      load.join();
    }
  });
  REQUIRE_MESSAGE(c.wait_for([&] { return at_least(100); }, 20s),
                  acked.load() << " answered, " << unanswered.load() << " not");
  REQUIRE_FALSE(c.at(1).cluster().drain(true));
  CHECK(c.wait_for([&] { return !owns(1) && c.ring_settled(); }, 30s));
  auto drained_at = acked.load();
  REQUIRE(c.wait_for([&] { return at_least(drained_at + 100); }, 20s));
  REQUIRE_FALSE(c.at(1).cluster().drain(false));
  CHECK(c.wait_for([&] { return owns(1) && c.ring_settled(); }, 30s));
  auto back_at = acked.load();
  REQUIRE(c.wait_for([&] { return at_least(back_at + 100); }, 20s));
  stopper.reset();
  // A request whose name came back to the node it was sent from while it
  // was on its way (a handoff to that node) once lost its reply: its relay
  // had no connection to its own node. (A request that fails may or may
  // not have been applied; every answered one was, once.)
  CHECK_MESSAGE(unanswered == 0,
                acked.load() << " answered, " << unanswered.load() << " not: "
                             << fmt::format("{}", fmt::join(failures, "; ")));
  std::int64_t total = 0;
  for (int k = 0; k < names; ++k) {
    total += rc.get(static_cast<std::size_t>(k) % 3, counter(k));
  }
  CHECK(total >= acked.load());
  CHECK(total <= acked.load() + unanswered.load());
}

TEST_CASE("10,000 names sent from every node each reach one activation") {
  routed_cluster rc{5};
  auto& c = rc.c;
  rc.start_settled();
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

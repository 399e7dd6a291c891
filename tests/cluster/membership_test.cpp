// Tests of the pure membership core: version vectors, status transitions,
// the merge laws, gossip reception, convergence and the leader.
#include "troupe/cluster/membership.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

namespace tc = troupe::cluster;
using tc::member_status;
using namespace std::chrono_literals;

namespace {

std::uint64_t test_seed() {
  const char* text = std::getenv("TROUPE_TEST_SEED");
  return text != nullptr ? std::strtoull(text, nullptr, 10) : 20261124;
}

tc::member make_member(const std::string& id, std::uint16_t port,
                       std::uint64_t incarnation = 1,
                       member_status status = member_status::joining) {
  return {.node_id = id,
          .name = id + "@127.0.0.1",
          .address = {.host = "127.0.0.1", .port = port},
          .incarnation = incarnation,
          .status = status};
}

// A random state over a small pool of nodes, so that states overlap.
tc::membership random_state(std::mt19937_64& rng) {
  auto pick = [&rng](int n) {
    return static_cast<int>(rng() % static_cast<std::uint64_t>(n));
  };
  tc::membership::members_type members;
  tc::membership::reach_type reach;
  std::map<std::string, std::uint64_t> version;
  const std::vector<std::string> pool{"a", "b", "c", "d", "e", "f"};
  for (const auto& id : pool) {
    if (pick(3) == 0) {
      continue;
    }
    auto m = make_member(id, static_cast<std::uint16_t>(4000 + pick(2)),
                         1 + pick(3), static_cast<member_status>(pick(6)));
    m.announcement.version = pick(4);
    m.announcement.draining = pick(2) == 0;
    if (pick(2) == 0) {
      m.announcement.services["kv"] = pick(2) == 0;
    }
    // Some records passed on by a node older than these fields lack them.
    if (pick(3) != 0) {
      m.software = "v" + std::to_string(m.incarnation);
      m.capabilities = {"troupe.capabilities"};
    }
    members[id] = m;
    version[id] = 1 + pick(5);
  }
  for (int i = pick(6); i > 0; --i) {
    reach[{pool[pick(6)], pool[pick(6)]}]
      = {.subject_incarnation = static_cast<std::uint64_t>(1 + pick(3)),
         .version = static_cast<std::uint64_t>(1 + pick(4)),
         .unreachable = pick(2) == 0};
  }
  return tc::membership::from_parts(members, reach,
                                    tc::version_vector{version});
}

} // namespace

TEST_SUITE_BEGIN("cluster.membership");

TEST_CASE("version vectors order as same, before, after or concurrent") {
  tc::version_vector a;
  tc::version_vector b;
  CHECK(a.compare(b) == tc::causal_order::same);
  a.bump("n1");
  CHECK(a.compare(b) == tc::causal_order::after);
  CHECK(b.compare(a) == tc::causal_order::before);
  b.bump("n2");
  CHECK(a.compare(b) == tc::causal_order::concurrent);
  CHECK(b.compare(a) == tc::causal_order::concurrent);
  auto c = a;
  c.merge(b);
  CHECK(c.compare(a) == tc::causal_order::after);
  CHECK(c.compare(b) == tc::causal_order::after);
  c.merge(c);
  CHECK(c.get("n1") == 1);
  CHECK(c.get("n2") == 1);
  CHECK(c.get("n3") == 0);
  b.merge(a);
  CHECK(b.compare(c) == tc::causal_order::same);
}

TEST_CASE("every status transition, legal and illegal") {
  using ms = member_status;
  const std::vector<ms> all{ms::joining, ms::up,   ms::leaving,
                            ms::exiting, ms::down, ms::removed};
  const std::set<std::pair<ms, ms>> legal{
    {ms::joining, ms::up},   {ms::joining, ms::leaving},
    {ms::joining, ms::down}, {ms::up, ms::leaving},
    {ms::up, ms::down},      {ms::leaving, ms::exiting},
    {ms::leaving, ms::down}, {ms::exiting, ms::removed},
    {ms::exiting, ms::down}, {ms::down, ms::removed},
  };
  for (auto from : all) {
    for (auto to : all) {
      CAPTURE(tc::to_string(from));
      CAPTURE(tc::to_string(to));
      CHECK(tc::is_legal_transition(from, to) == (legal.count({from, to}) > 0));
    }
    CHECK(tc::parse_member_status(tc::to_string(from)) == from);
  }
  CHECK_FALSE(tc::parse_member_status("upp"));
}

TEST_CASE("merge is commutative, associative and idempotent on random "
          "states") {
  auto seed = test_seed();
  CAPTURE(seed);
  std::mt19937_64 rng{seed};
  for (int i = 0; i < 2000; ++i) {
    auto a = random_state(rng);
    auto b = random_state(rng);
    auto c = random_state(rng);
    using tc::membership;
    REQUIRE(membership::merge(a, b) == membership::merge(b, a));
    REQUIRE(membership::merge(membership::merge(a, b), c)
            == membership::merge(a, membership::merge(b, c)));
    REQUIRE(membership::merge(a, a) == a);
    // The merge never loses a member or moves one backwards.
    auto m = membership::merge(a, b);
    for (const auto& [id, x] : a.members()) {
      const auto* y = m.find(id);
      REQUIRE(y != nullptr);
      REQUIRE((y->incarnation > x.incarnation || y->status >= x.status));
    }
  }
}

TEST_CASE("a member's stated software and capabilities survive a record "
          "passed on without them") {
  auto said = make_member("a", 4000, 2, member_status::up);
  said.software = "0.2.0 (v0.2.0)";
  said.capabilities = {"troupe.capabilities", "app.v2"};
  auto stripped = said;
  stripped.software.clear();
  stripped.capabilities.clear();
  CHECK(tc::merge(said, stripped) == said);
  CHECK(tc::merge(stripped, said) == said);
  // A new incarnation (a restart into an older build) replaces both.
  auto older = make_member("a", 4000, 3, member_status::joining);
  CHECK(tc::merge(said, older).capabilities.empty());
}

TEST_CASE("a higher incarnation replaces a member; a lower one is ignored") {
  tc::membership s;
  CHECK(s.add(make_member("a", 4000, 1), "a"));
  CHECK(s.transition("a", member_status::up, "a"));
  CHECK(s.transition("a", member_status::down, "b"));
  CHECK_FALSE(s.add(make_member("a", 4000, 1), "b"));
  CHECK(s.find("a")->status == member_status::down);
  CHECK(s.add(make_member("a", 4000, 2), "a"));
  CHECK(s.find("a")->status == member_status::joining);
  CHECK(s.find("a")->incarnation == 2);
  CHECK_FALSE(s.add(make_member("a", 4000, 1), "b"));
  // Illegal transitions change nothing.
  auto before = s;
  CHECK_FALSE(s.transition("a", member_status::removed, "a"));
  CHECK_FALSE(s.transition("zz", member_status::up, "a"));
  CHECK(s == before);
}

TEST_CASE("unreachability is per incarnation and clears when observed "
          "reachable") {
  tc::membership s;
  s.add(make_member("a", 4000), "a");
  s.add(make_member("b", 4001), "a");
  CHECK(s.observe("a", "b", true));
  CHECK_FALSE(s.observe("a", "b", true));
  CHECK(s.is_unreachable("b"));
  CHECK(s.reachable_active() == std::vector<std::string>{"a"});
  CHECK(s.observe("a", "b", false));
  CHECK_FALSE(s.is_unreachable("b"));
  CHECK(s.observe("a", "b", true));
  s.add(make_member("b", 4001, 2), "b"); // b restarted
  CHECK_FALSE(s.is_unreachable("b"));
  // Observing the new incarnation reachable changes nothing: no record
  // flags it.
  auto version = s.version();
  CHECK_FALSE(s.observe("a", "b", false));
  CHECK(s.version() == version);
}

TEST_CASE("observing a member reachable for the first time makes no new "
          "version") {
  // Every member that connects to a joiner observes it; each such
  // observation as a version of its own would keep a join from converging.
  tc::membership s;
  s.add(make_member("a", 4000), "a");
  s.add(make_member("b", 4001), "a");
  auto before = s;
  CHECK_FALSE(s.observe("a", "b", false));
  CHECK_FALSE(s.observe("b", "a", false));
  CHECK(s == before);
  CHECK(s.observe("b", "a", true));
  CHECK(s.version().get("b") == before.version().get("b") + 1);
}

TEST_CASE("gossip: same versions unite seen sets, newer ones are taken, "
          "concurrent ones merge") {
  tc::gossip_state x;
  x.state.add(make_member("a", 4000), "a");
  x.seen = {"a"};
  auto y = x;
  y.seen = {"b"};
  CHECK(tc::receive_gossip(x, y, "a") == tc::gossip_outcome::same);
  CHECK(x.seen == std::set<std::string>{"a", "b"});
  auto newer = x;
  newer.state.add(make_member("c", 4002), "b");
  newer.seen = {"b"};
  CHECK(tc::receive_gossip(x, newer, "a") == tc::gossip_outcome::newer);
  CHECK(x.seen == std::set<std::string>{"a", "b"});
  CHECK(x.state == newer.state);
  CHECK(tc::receive_gossip(x, y, "a") == tc::gossip_outcome::older);
  auto other = y;
  other.state.add(make_member("d", 4003), "d");
  x.state.add(make_member("e", 4004), "a");
  CHECK(tc::receive_gossip(x, other, "a") == tc::gossip_outcome::merged);
  CHECK(x.seen == std::set<std::string>{"a"});
  CHECK(x.state.members().size() == 4);
}

TEST_CASE("a newer state from an older build keeps the software and "
          "capabilities this node knew") {
  // b runs a build from before those fields: it passes a's record on
  // without them, in a state newer than a's own.
  tc::gossip_state x;
  auto a = make_member("a", 4000, 2);
  a.software = "0.2.0";
  a.capabilities = {"troupe.capabilities"};
  x.state.add(a, "a");
  x.state.add(make_member("b", 4001), "a");
  x.seen = {"a"};
  auto from_b = x;
  auto stripped = a;
  stripped.software.clear();
  stripped.capabilities.clear();
  from_b.state = tc::membership::from_parts(
    {{"a", stripped}, {"b", *x.state.find("b")}}, {}, x.state.version());
  from_b.state.transition("a", member_status::up, "b");
  from_b.seen = {"b"};
  CHECK(tc::receive_gossip(x, from_b, "a") == tc::gossip_outcome::newer);
  CHECK(x.state.find("a")->status == member_status::up);
  CHECK(x.state.find("a")->software == "0.2.0");
  CHECK(x.state.find("a")->capabilities == a.capabilities);
  CHECK(x.state.version() == from_b.state.version());
  // A new incarnation in the newer state states for itself: nothing is
  // carried over from the old one.
  auto restarted = from_b;
  restarted.state.add(make_member("a", 4000, 3), "b");
  CHECK(tc::receive_gossip(x, restarted, "a") == tc::gossip_outcome::newer);
  CHECK(x.state.find("a")->software.empty());
  CHECK(x.state.find("a")->incarnation == 3);
}

TEST_CASE("the leader moves members up when converged and downs the long "
          "unreachable") {
  tc::gossip_state g;
  g.state.add(make_member("a", 4000), "a");
  g.state.add(make_member("b", 4001), "a");
  g.seen = {"a"};
  CHECK(g.state.leader() == "a"); // lowest address among joining
  tc::leader_policy policy{.down_after = 1000ms};
  CHECK(tc::leader_actions(g, "b", policy, {}).empty()); // b is not leader
  CHECK_FALSE(tc::converged(g));
  CHECK(tc::leader_actions(g, "a", policy, {}).empty());
  g.seen.insert("b");
  CHECK(tc::converged(g));
  auto done = tc::leader_actions(g, "a", policy, {});
  CHECK(done.size() == 2);
  CHECK(g.state.find("a")->status == member_status::up);
  CHECK(g.state.find("b")->status == member_status::up);
  CHECK(g.seen == std::set<std::string>{"a"});
  // b becomes unreachable: not down before down_after, down after it.
  g.state.observe("a", "b", true);
  CHECK(tc::converged(g)); // the unreachable do not hold convergence up
  CHECK(tc::leader_actions(g, "a", policy, {{"b", 999ms}}).empty());
  done = tc::leader_actions(g, "a", policy, {{"b", 1000ms}});
  REQUIRE(done.size() == 1);
  CHECK(done[0]
        == std::pair<std::string, member_status>{"b", member_status::down});
  // Down for a round at least, then (converged) removed.
  done = tc::leader_actions(g, "a", policy, {{"b", 1100ms}});
  REQUIRE(done.size() == 1);
  CHECK(g.state.find("b")->status == member_status::removed);
  // Without down_after only an operator downs members.
  tc::gossip_state h;
  h.state.add(make_member("a", 4000, 1, member_status::up), "a");
  h.state.add(make_member("c", 4002, 1, member_status::up), "a");
  h.state.observe("a", "c", true);
  h.seen = {"a"};
  CHECK(tc::leader_actions(h, "a", {}, {{"c", 3600s}}).empty());
}

TEST_CASE("with more members than partitions the leader claims once and "
          "then keeps its ring") {
  tc::gossip_state g;
  std::set<std::string> all;
  for (int i = 0; i < 12; ++i) {
    auto id = "n" + std::to_string(10 + i);
    g.state.add(make_member(id, static_cast<std::uint16_t>(4000 + i), 1,
                            member_status::up),
                id);
    all.insert(id);
  }
  tc::leader_policy policy{.claim = {.ring_size = 8, .target_n = 3}};
  auto leader = *g.state.leader();
  // Every member announces that it has handed off, as it would once its
  // transfers are done; then the leader may claim again.
  auto settle = [&g, &all, &leader, &policy] {
    for (const auto& id : all) {
      auto* m = g.state.find(id);
      tc::service_announcement a = m->announcement;
      a.handoff_epoch = g.state.current_ring().epoch();
      g.state.announce(id, a);
    }
    g.seen = all;
    tc::leader_actions(g, leader, policy, {});
  };
  g.seen = all;
  tc::leader_actions(g, leader, policy, {});
  REQUIRE(g.state.current_ring().epoch() == 1);
  CHECK(g.state.current_ring().members().size() == 8);
  for (int round = 0; round < 5; ++round) {
    settle();
  }
  CHECK(g.state.current_ring().epoch() == 1);
  // A member that leaves the owners' set (is removed) is replaced by one
  // that owned nothing: one claim, then quiet again.
  auto owner = g.state.current_ring().members().back();
  REQUIRE(owner != leader);
  g.state.transition(owner, member_status::down, leader);
  g.state.transition(owner, member_status::removed, leader);
  all.erase(owner);
  settle();
  CHECK(g.state.current_ring().epoch() == 2);
  auto owners = g.state.current_ring().members();
  CHECK(std::find(owners.begin(), owners.end(), owner) == owners.end());
  CHECK(owners.size() == 8);
  for (int round = 0; round < 5; ++round) {
    settle();
  }
  CHECK(g.state.current_ring().epoch() == 2);
}

TEST_CASE("a leaving member goes to exiting, then removed, once converged") {
  tc::gossip_state g;
  g.state.add(make_member("a", 4000, 1, member_status::up), "a");
  g.state.add(make_member("b", 4001, 1, member_status::up), "a");
  g.state.transition("b", member_status::leaving, "b");
  g.seen = {"a", "b"};
  tc::leader_actions(g, "a", {}, {});
  CHECK(g.state.find("b")->status == member_status::exiting);
  tc::leader_actions(g, "a", {}, {});
  CHECK(g.state.find("b")->status == member_status::removed);
  CHECK(g.state.leader() == "a");
}

TEST_SUITE_END();

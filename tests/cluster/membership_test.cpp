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

// Random histories of four nodes, "a" to "d": each adds its own record
// (again as a higher incarnation: a restart), moves members through their
// statuses, observes others, forgets removed members and takes in another
// node's state as gossip does. Every state such a history makes is one a
// cluster can hold; the laws of the merge are stated for those.
struct history {
  std::vector<tc::membership> states;
  // Every (node, incarnation) added, with the point where it was added.
  std::map<std::pair<std::string, std::uint64_t>,
           std::pair<std::string, std::uint64_t>>
    added;
};

history random_history(std::mt19937_64& rng, int steps) {
  auto pick = [&rng](std::size_t n) { return rng() % n; };
  const std::vector<std::string> ids{"a", "b", "c", "d"};
  std::vector<tc::gossip_state> nodes(ids.size());
  std::map<std::string, std::uint64_t> incarnation;
  history h;
  auto add_self = [&](std::size_t i) {
    auto& s = nodes[i].state;
    auto m = make_member(ids[i], static_cast<std::uint16_t>(4000 + i),
                         ++incarnation[ids[i]]);
    if (pick(3) != 0) {
      m.software = "v" + std::to_string(m.incarnation);
      m.capabilities = {"troupe.capabilities"};
    }
    s.add(m, ids[i]);
    const auto* added = s.find(ids[i]);
    h.added[{added->node_id, added->incarnation}] = {added->added_by,
                                                     added->added_at};
  };
  for (std::size_t i = 0; i < ids.size(); ++i) {
    add_self(i);
  }
  for (int step = 0; step < steps; ++step) {
    auto i = pick(ids.size());
    auto& g = nodes[i];
    const auto& members = g.state.members();
    auto some = [&]() {
      auto at = members.begin();
      std::advance(at, static_cast<std::ptrdiff_t>(pick(members.size())));
      return at->first;
    };
    switch (pick(7)) {
      case 0:
        if (pick(4) == 0) {
          add_self(i);
        }
        break;
      case 1:
      case 2:
        if (!members.empty()) {
          g.state.transition(some(), static_cast<member_status>(pick(6)),
                             ids[i]);
        }
        break;
      case 3:
        if (!members.empty()) {
          g.state.observe(ids[i], some(), pick(2) == 0);
        }
        break;
      case 4:
        g.state.forget_removed(ids[i]);
        break;
      default:
        if (auto j = pick(ids.size()); j != i) {
          tc::receive_gossip(g, nodes[j], ids[i]);
        }
        break;
    }
    h.states.push_back(g.state);
  }
  return h;
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

TEST_CASE("merge is commutative, associative and idempotent on the states "
          "of random histories, and never brings back a forgotten member") {
  auto seed = test_seed();
  CAPTURE(seed);
  std::mt19937_64 rng{seed};
  using tc::membership;
  for (int run = 0; run < 200; ++run) {
    auto h = random_history(rng, 60);
    const auto& xs = h.states;
    auto any = [&]() -> const membership& { return xs[rng() % xs.size()]; };
    for (int i = 0; i < 40; ++i) {
      const auto& a = any();
      const auto& b = any();
      const auto& c = any();
      REQUIRE(membership::merge(a, b) == membership::merge(b, a));
      REQUIRE(membership::merge(membership::merge(a, b), c)
              == membership::merge(a, membership::merge(b, c)));
      REQUIRE(membership::merge(a, a) == a);
      auto m = membership::merge(a, b);
      // A member is lost only by being forgotten: the other side has seen
      // it added and no longer holds that incarnation.
      for (const auto& [id, x] : a.members()) {
        const auto* y = m.find(id);
        if (y != nullptr) {
          REQUIRE((y->incarnation > x.incarnation || y->status >= x.status));
          continue;
        }
        const auto* in_b = b.find(id);
        REQUIRE((in_b == nullptr || in_b->incarnation < x.incarnation));
        REQUIRE(b.version().get(x.added_by) >= x.added_at);
      }
      // What a state forgot stays forgotten whatever it merges with.
      for (const auto& [key, dot] : h.added) {
        const auto& [id, incarnation] = key;
        const auto* held = a.find(id);
        bool forgot = a.version().get(dot.first) >= dot.second
                      && (held == nullptr || held->incarnation != incarnation);
        if (!forgot) {
          continue;
        }
        const auto* back = m.find(id);
        REQUIRE((back == nullptr || back->incarnation != incarnation));
      }
      // Observations only of members held, in their present incarnation.
      for (const auto& [k, rec] : m.reachability()) {
        const auto* subject = m.find(k.second);
        REQUIRE(subject != nullptr);
        REQUIRE(rec.subject_incarnation == subject->incarnation);
      }
    }
  }
}

TEST_CASE("the leader forgets removed members once converged, with the "
          "observations that concern them; a record from an older node is "
          "kept") {
  tc::gossip_state g;
  g.state.add(make_member("a", 4000, 1, member_status::up), "a");
  g.state.add(make_member("b", 4001, 1, member_status::up), "b");
  g.state.add(make_member("c", 4002, 1, member_status::up), "c");
  g.state.add(make_member("d", 4003, 1, member_status::up), "d");
  g.state.add(make_member("e", 4004, 1, member_status::up), "e");
  // e's record came from a node older than the point of addition.
  auto members = g.state.members();
  members["e"].added_by.clear();
  members["e"].added_at = 0;
  g.state = tc::membership::from_parts(members, g.state.reachability(),
                                       g.state.version());
  g.state.observe("a", "c", true);
  g.state.observe("a", "c", false);
  g.state.observe("a", "d", true);
  g.state.observe("b", "d", true);
  g.state.observe("b", "c", true);
  g.state.observe("c", "a", true);
  g.state.observe("c", "d", true);
  for (const auto* id : {"c", "e"}) {
    g.state.transition(id, member_status::down, "a");
    g.state.transition(id, member_status::removed, "a");
  }
  g.seen = {"a", "b"}; // d is flagged unreachable: not counted
  REQUIRE(tc::converged(g));
  auto before = g;
  // Not the leader, or not converged: nothing.
  CHECK(tc::forget_removed(g, "b").members.empty());
  g.seen = {"a"};
  CHECK(tc::forget_removed(g, "a").members.empty());
  CHECK(g.state == before.state);
  g.seen = {"a", "b"};
  auto gone = tc::forget_removed(g, "a");
  REQUIRE(gone.members.size() == 1);
  CHECK(gone.members[0].node_id == "c");
  CHECK(g.state.find("c") == nullptr);
  CHECK(g.state.find("e") != nullptr);
  // c's own observations and those of c go; a's and b's of d stay.
  CHECK(gone.observations == 4);
  CHECK(g.state.reachability().size() == 2);
  CHECK(g.state.reachability().count({"a", "d"}) == 1);
  CHECK(g.state.reachability().count({"b", "d"}) == 1);
  CHECK(g.state.version().get("a") == before.state.version().get("a") + 1);
  CHECK(g.seen == std::set<std::string>{"a"});
  // Nothing left to forget: no new version.
  g.seen = {"a", "b"};
  auto after = g;
  CHECK(tc::forget_removed(g, "a").members.empty());
  CHECK(g.state == after.state);
  CHECK(g.seen == after.seen);
}

TEST_CASE("a forgotten member stays forgotten: an older copy, the member's "
          "own view and a node that never saw it forgotten do not bring it "
          "back; a new incarnation does come back") {
  tc::gossip_state g;
  g.state.add(make_member("a", 4000, 1, member_status::up), "a");
  g.state.add(make_member("b", 4001, 1, member_status::up), "b");
  g.state.add(make_member("x", 4002, 1, member_status::up), "x");
  g.seen = {"a", "b", "x"};
  // x is cut off; its copy goes on changing (it observes a and b).
  auto x_copy = g;
  x_copy.state.observe("x", "a", true);
  // b's copy from before the removal, with a change of its own.
  auto b_copy = g;
  b_copy.state.observe("b", "x", true);
  g.state.transition("x", member_status::down, "a");
  g.state.transition("x", member_status::removed, "a");
  g.seen = {"a", "b"};
  REQUIRE_FALSE(tc::forget_removed(g, "a").members.empty());
  for (const auto* copy : {&x_copy, &b_copy}) {
    auto merged = *copy;
    CHECK(tc::receive_gossip(merged, g, "b") == tc::gossip_outcome::merged);
    CHECK(merged.state.find("x") == nullptr);
    auto other_way = g;
    tc::receive_gossip(other_way, *copy, "a");
    CHECK(other_way.state.find("x") == nullptr);
    CHECK(other_way.state == merged.state);
  }
  // x restarted: a new incarnation is news, not a forgotten record.
  auto restarted = x_copy;
  restarted.state.raise_version("x", std::uint64_t{2} << 32);
  restarted.state.add(make_member("x", 4002, 2), "x");
  tc::receive_gossip(g, restarted, "a");
  REQUIRE(g.state.find("x") != nullptr);
  CHECK(g.state.find("x")->incarnation == 2);
}

TEST_CASE("a restarted node whose saved state missed its last changes "
          "comes back only because its counter starts past them") {
  // x's last change reached a but not x's disk: its saved version of x is
  // one behind what a has seen.
  tc::membership saved;
  saved.add(make_member("a", 4000, 1, member_status::up), "a");
  saved.add(make_member("x", 4002, 1, member_status::up), "x");
  auto cluster = saved;
  cluster.observe("x", "a", true); // x's unsaved change
  cluster.transition("x", member_status::down, "a");
  cluster.transition("x", member_status::removed, "a");
  cluster.forget_removed("a");
  REQUIRE(cluster.find("x") == nullptr);
  // Without a fresh start for its counter, x's new record is taken for
  // the one the cluster forgot.
  auto careless = saved;
  careless.add(make_member("x", 4002, 2), "x");
  CHECK(tc::membership::merge(cluster, careless).find("x") == nullptr);
  auto booted = saved;
  booted.raise_version("x", std::uint64_t{2} << 32);
  booted.add(make_member("x", 4002, 2), "x");
  auto merged = tc::membership::merge(cluster, booted);
  const auto* back = merged.find("x");
  REQUIRE(back != nullptr);
  CHECK(back->incarnation == 2);
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

TEST_CASE("a draining member keeps its partitions until the leader claims "
          "the ring without it, and gets some again when it stops draining") {
  tc::gossip_state g;
  std::set<std::string> all{"a", "b", "c"};
  for (std::uint16_t i = 0; i < 3; ++i) {
    auto id = std::string(1, static_cast<char>('a' + i));
    g.state.add(make_member(id, static_cast<std::uint16_t>(4000 + i), 1,
                            member_status::up),
                "a");
  }
  tc::leader_policy policy{.claim = {.ring_size = 16, .target_n = 2}};
  auto owners = [&g] { return g.state.current_ring().members(); };
  auto handed_off = [&g, &all] {
    for (const auto& id : all) {
      tc::service_announcement a = g.state.find(id)->announcement;
      a.handoff_epoch = g.state.current_ring().epoch();
      g.state.announce(id, a);
    }
    g.seen = all;
  };
  g.seen = all;
  tc::leader_actions(g, "a", policy, {});
  REQUIRE(owners() == std::vector<std::string>{"a", "b", "c"});
  auto epoch = g.state.current_ring().epoch();
  // b drains: it stays up (and available for routing) but the next claim
  // leaves it out; not before every owner finished the last handoff.
  tc::service_announcement drained = g.state.find("b")->announcement;
  drained.draining = true;
  g.state.announce("b", drained);
  g.seen = all;
  tc::leader_actions(g, "a", policy, {});
  CHECK(g.state.current_ring().epoch() == epoch);
  handed_off();
  tc::leader_actions(g, "a", policy, {});
  CHECK(g.state.current_ring().epoch() == epoch + 1);
  CHECK(owners() == std::vector<std::string>{"a", "c"});
  CHECK(g.state.find("b")->status == member_status::up);
  // Drained, nothing changes while it stays so.
  handed_off();
  tc::leader_actions(g, "a", policy, {});
  CHECK(g.state.current_ring().epoch() == epoch + 1);
  // Undrained, it is claimed again.
  drained.draining = false;
  g.state.announce("b", drained);
  handed_off();
  tc::leader_actions(g, "a", policy, {});
  CHECK(g.state.current_ring().epoch() == epoch + 2);
  CHECK(owners() == std::vector<std::string>{"a", "b", "c"});
}

TEST_SUITE_END();

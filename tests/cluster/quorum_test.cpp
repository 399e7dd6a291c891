// Which side of a split cluster keeps acting: every split of clusters of up
// to 7 members, under each strategy.
#include "troupe/cluster/quorum.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace tc = troupe::cluster;
using tc::member_status;
using policy = troupe::runtime::split_brain_policy;
using strategy = policy::strategy;

namespace {

std::string id_of(std::size_t i) {
  return "n" + std::to_string(i);
}

// `n` members up, the address order given by their index; the members in
// `side` (a bit mask) see the others as unreachable, and the others see
// them so.
tc::membership split(std::size_t n, unsigned side, bool as_side) {
  tc::membership s;
  for (std::size_t i = 0; i < n; ++i) {
    s.add({.node_id = id_of(i),
           .name = id_of(i) + "@127.0.0.1",
           .address = {.host = "127.0.0.1",
                       .port = static_cast<std::uint16_t>(4000 + i)},
           .incarnation = 1,
           .status = member_status::up},
          id_of(i));
  }
  // What this side's view holds: its own observers flag the other side.
  for (std::size_t i = 0; i < n; ++i) {
    bool in_side = ((side >> i) & 1U) != 0;
    if (in_side != as_side) {
      continue;
    }
    for (std::size_t j = 0; j < n; ++j) {
      bool j_in_side = ((side >> j) & 1U) != 0;
      if (j_in_side != in_side) {
        s.observe(id_of(i), id_of(j), true);
      }
    }
  }
  return s;
}

std::size_t first_in(std::size_t n, unsigned side, bool as_side) {
  for (std::size_t i = 0; i < n; ++i) {
    if ((((side >> i) & 1U) != 0) == as_side) {
      return i;
    }
  }
  return n;
}

} // namespace

TEST_SUITE_BEGIN("cluster.quorum");

TEST_CASE("keep_majority: of two sides at most one acts, exactly one when "
          "they are equal or unequal, the lower address breaking ties") {
  policy keep{.kind = strategy::keep_majority};
  for (std::size_t n = 1; n <= 7; ++n) {
    for (unsigned side = 1; side + 1 < (1U << n); ++side) {
      CAPTURE(n);
      CAPTURE(side);
      auto a = first_in(n, side, true);
      auto b = first_in(n, side, false);
      auto qa = tc::assess_quorum(split(n, side, true), id_of(a), keep);
      auto qb = tc::assess_quorum(split(n, side, false), id_of(b), keep);
      auto size_a = static_cast<std::size_t>(__builtin_popcount(side));
      CHECK(qa.members == n);
      CHECK(qa.reachable == size_a);
      CHECK(qb.reachable == n - size_a);
      // Exactly one side acts: the larger, or of equal halves the one with
      // node 0 (the lowest address).
      CHECK(qa.quorum != qb.quorum);
      bool a_wins = 2 * size_a > n || (2 * size_a == n && (side & 1U) != 0);
      CHECK(qa.quorum == a_wins);
    }
  }
}

TEST_CASE("static_quorum: a side acts when it reaches the quorum size") {
  for (std::uint32_t q = 1; q <= 4; ++q) {
    policy fixed{.kind = strategy::static_quorum, .quorum_size = q};
    for (std::size_t n = 1; n <= 6; ++n) {
      for (unsigned side = 1; side + 1 < (1U << n); ++side) {
        auto a = first_in(n, side, true);
        auto v = tc::assess_quorum(split(n, side, true), id_of(a), fixed);
        CHECK(v.quorum
              == (static_cast<std::size_t>(__builtin_popcount(side)) >= q));
      }
    }
  }
}

TEST_CASE("keep_oldest: the side of the member up the longest acts, unless "
          "it is alone against more than one; exactly one side acts") {
  policy oldest{.kind = strategy::keep_oldest};
  // Up order is the reverse of address order: the last member is the
  // oldest, so age, not address, must decide.
  auto aged = [](tc::membership s, std::size_t n) {
    auto members = s.members();
    for (std::size_t i = 0; i < n; ++i) {
      members[id_of(i)].up_number = n - i;
    }
    return tc::membership::from_parts(members, s.reachability(), s.version());
  };
  for (std::size_t n = 2; n <= 7; ++n) {
    for (unsigned side = 1; side + 1 < (1U << n); ++side) {
      CAPTURE(n);
      CAPTURE(side);
      auto a = first_in(n, side, true);
      auto b = first_in(n, side, false);
      auto qa = tc::assess_quorum(aged(split(n, side, true), n), id_of(a),
                                  oldest);
      auto qb = tc::assess_quorum(aged(split(n, side, false), n), id_of(b),
                                  oldest);
      auto size_a = static_cast<std::size_t>(__builtin_popcount(side));
      bool oldest_in_a = ((side >> (n - 1)) & 1U) != 0;
      auto oldest_side = oldest_in_a ? size_a : n - size_a;
      bool oldest_side_wins = !(oldest_side == 1 && n - oldest_side > 1);
      CHECK(qa.quorum != qb.quorum);
      CHECK(qa.quorum == (oldest_in_a == oldest_side_wins));
    }
  }
  // Members without an up number (from an older node) are the youngest.
  auto s = split(4, 0b0011, true);
  auto members = s.members();
  members[id_of(3)].up_number = 1;
  auto view = tc::membership::from_parts(members, s.reachability(),
                                         s.version());
  CHECK_FALSE(tc::assess_quorum(view, id_of(0), oldest).quorum);
}

TEST_CASE("serve_all: every side acts") {
  policy all{.kind = strategy::serve_all};
  for (std::size_t n = 1; n <= 5; ++n) {
    for (unsigned side = 1; side + 1 < (1U << n); ++side) {
      CHECK(tc::assess_quorum(split(n, side, true),
                              id_of(first_in(n, side, true)), all)
              .quorum);
    }
  }
}

TEST_CASE("only up and leaving members count; a forming cluster acts") {
  policy keep{.kind = strategy::keep_majority};
  tc::membership s;
  CHECK(tc::assess_quorum(s, "n0", keep) == tc::quorum_view{true, 0, 0});
  auto add = [&s](std::size_t i, member_status st) {
    s.add({.node_id = id_of(i),
           .name = id_of(i),
           .address = {.host = "127.0.0.1",
                       .port = static_cast<std::uint16_t>(4000 + i)},
           .incarnation = 1,
           .status = st},
          "n0");
  };
  add(0, member_status::up);
  add(1, member_status::up);
  add(2, member_status::leaving);
  add(3, member_status::joining);
  add(4, member_status::down);
  add(5, member_status::removed);
  // n0 alone, the others flagged: 1 of 3 counted.
  for (std::size_t j = 1; j < 6; ++j) {
    s.observe("n0", id_of(j), true);
  }
  auto v = tc::assess_quorum(s, "n0", keep);
  CHECK(v.members == 3);
  CHECK(v.reachable == 1);
  CHECK_FALSE(v.quorum);
  // A member flagged by others still counts itself on its own side.
  auto w = tc::assess_quorum(s, "n1", keep);
  CHECK(w.reachable == 2);
  CHECK(w.quorum);
}

TEST_CASE("the flags of a member that rejoined (joining) do not count") {
  // After a heal, a minority member comes back as a new incarnation that
  // still carries its old flags on the majority: the majority keeps its
  // quorum.
  policy keep{.kind = strategy::keep_majority};
  auto s = split(5, 0b00011, true); // the view of n0 and n1: n2..n4 flagged
  for (std::size_t i = 0; i < 2; ++i) {
    s.add({.node_id = id_of(i),
           .name = id_of(i),
           .address = {.host = "127.0.0.1",
                       .port = static_cast<std::uint16_t>(4000 + i)},
           .incarnation = 2,
           .status = member_status::joining},
          id_of(i));
  }
  auto v = tc::assess_quorum(s, "n4", keep);
  CHECK(v.members == 3);
  CHECK(v.reachable == 3);
  CHECK(v.quorum);
}

TEST_SUITE_END();

// The ring: the name hash, partitions, the claim's balance, moves and
// spacing, and preference lists.
#include "troupe/cluster/ring.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <random>
#include <set>

using namespace troupe::cluster;

namespace {

std::string node(int i) {
  return fmt::format("{:032x}", static_cast<unsigned>(i) * 2654435761U);
}

std::vector<std::string> nodes(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) {
    out.push_back(node(i));
  }
  return out;
}

void check_balanced(const ring& r, std::size_t n) {
  auto counts = r.counts();
  REQUIRE(counts.size() == n);
  auto [lo, hi] = std::minmax_element(counts.begin(), counts.end(),
                                      [](const auto& a, const auto& b) {
                                        return a.second < b.second;
                                      });
  CHECK(lo->second == r.size() / n);
  CHECK(hi->second - lo->second <= 1);
}

// The fewest moves a change of members allows: what a joiner must get, or
// what a leaver had.
std::uint32_t optimum_join(const ring& after, const std::string& joiner) {
  return after.counts().at(joiner);
}

constexpr std::uint32_t target_n = 3;

// Grows a ring one member at a time up to `max_n`, then shrinks it by
// removing members from the middle, checking balance, spacing and moves.
void grow_and_shrink(std::uint32_t q, int max_n, int step = 1) {
  ring r;
  std::vector<std::string> ms;
  for (int n = 1; n <= max_n; n += step) {
    auto before = r;
    for (int k = 0; k < step && static_cast<int>(ms.size()) < n; ++k) {
      ms.push_back(node(static_cast<int>(ms.size()) + 1));
    }
    auto res = claim(r, ms, {.ring_size = q, .target_n = target_n});
    CAPTURE(q);
    CAPTURE(n);
    check_balanced(res.next, ms.size());
    CHECK(res.next.epoch() == before.epoch() + 1);
    if (ms.size() > target_n) {
      CHECK(res.next.spacing_violations(target_n) == 0);
    }
    if (step == 1 && n > static_cast<int>(target_n)) {
      auto opt = optimum_join(res.next, ms.back());
      CHECK(res.moved * 4 <= opt * 5);
    }
    r = res.next;
  }
  while (ms.size() > 1) {
    auto gone = ms[ms.size() / 2];
    auto had = r.counts().at(gone);
    ms.erase(ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2));
    auto res = claim(r, ms, {.ring_size = q, .target_n = target_n});
    CAPTURE(q);
    CAPTURE(ms.size());
    check_balanced(res.next, ms.size());
    if (ms.size() > target_n) {
      CHECK(res.next.spacing_violations(target_n) == 0);
    }
    if (ms.size() > target_n + 1) {
      CHECK(res.moved * 4 <= had * 5);
    }
    r = res.next;
  }
}

} // namespace

TEST_CASE("the name hash is XXH3-64 with the fixed seed, pinned") {
  // The library itself: XXH3-64 of nothing with seed 0.
  CHECK(XXH3_64bits_withSeed("", 0, 0) == 0x2d06800538d394c2ULL);
  CHECK(name_hash("") == 0x2c5031d9fd1cea26ULL);
  CHECK(name_hash("counter/42") == 0xb5cdb18cbe878c03ULL);
  CHECK(name_hash("counter/0") == 0xc654d2d343e4f99aULL);
  CHECK(name_hash("user/alice") == 0xcc7da776610e09e6ULL);
}

TEST_CASE("ring sizes are powers of two up to 16,384") {
  for (std::uint64_t q = 1; q <= max_ring_size; q *= 2) {
    CHECK(is_valid_ring_size(q));
  }
  for (std::uint64_t q : {0ULL, 3ULL, 48ULL, 100ULL, 32768ULL, 65536ULL}) {
    CHECK_FALSE(is_valid_ring_size(q));
  }
  CHECK_THROWS_AS(ring(1, std::vector<std::string>(3, "a")),
                  std::invalid_argument);
}

TEST_CASE("a partition is the top bits of the hash") {
  auto res = claim(ring{}, nodes(4), {.ring_size = 64});
  const auto& r = res.next;
  CHECK(r.size() == 64);
  CHECK(r.partition_of(0) == 0);
  CHECK(r.partition_of(~0ULL) == 63);
  CHECK(r.partition_of(1ULL << 58) == 1);
  CHECK(r.partition_of_name("counter/42") == (0xb5cdb18cbe878c03ULL >> 58));
  auto one = claim(ring{}, nodes(1), {.ring_size = 1}).next;
  CHECK(one.partition_of(~0ULL) == 0);
  CHECK(one.owner(0) == node(1));
}

TEST_CASE("every N from 1 to 64 at Q=64: balanced, spaced, few moves") {
  grow_and_shrink(64, 64);
}

TEST_CASE("Q=1,024 and Q=16,384: balanced, spaced, few moves") {
  grow_and_shrink(1024, 40);
  grow_and_shrink(16384, 12);
}

TEST_CASE("a fresh ring is balanced and spaced for every N above target_n") {
  for (std::uint32_t q : {64U, 1024U, 16384U}) {
    for (int n : {4, 5, 6, 7, 9, 17, 33, 63}) {
      auto r = claim(ring{}, nodes(n), {.ring_size = q}).next;
      CAPTURE(q);
      CAPTURE(n);
      check_balanced(r, static_cast<std::size_t>(n));
      CHECK(r.spacing_violations(target_n) == 0);
    }
  }
}

TEST_CASE("the same members in any order give the same ring") {
  auto ms = nodes(9);
  auto base = claim(ring{}, ms, {.ring_size = 256}).next;
  std::mt19937 gen{7};
  auto more = ms;
  more.push_back(node(10));
  auto grown = claim(base, more, {.ring_size = 256}).next;
  for (int i = 0; i < 5; ++i) {
    std::shuffle(ms.begin(), ms.end(), gen);
    CHECK(claim(ring{}, ms, {.ring_size = 256}).next == base);
    std::shuffle(more.begin(), more.end(), gen);
    CHECK(claim(base, more, {.ring_size = 256}).next == grown);
  }
  // Duplicates do not count twice.
  auto twice = ms;
  twice.insert(twice.end(), ms.begin(), ms.end());
  CHECK(claim(ring{}, twice, {.ring_size = 256}).next == base);
}

TEST_CASE("a claim remembers the previous owners") {
  auto r1 = claim(ring{}, nodes(4), {.ring_size = 64}).next;
  CHECK(r1.previous_owners().empty());
  CHECK(r1.previous_owner(5) == r1.owner(5));
  auto ms = nodes(5);
  auto r2 = claim(r1, ms, {.ring_size = 64}).next;
  CHECK(r2.epoch() == 2);
  std::uint32_t changed = 0;
  for (std::uint32_t p = 0; p < 64; ++p) {
    CHECK(r2.previous_owner(p) == r1.owner(p));
    if (r2.owner(p) != r1.owner(p)) {
      ++changed;
      CHECK(r2.owner(p) == node(5)); // only the joiner gains
    }
  }
  CHECK(changed == moved_partitions(r1, r2));
  CHECK(ring{2, r2.owners(), r2.previous_owners()} == r2);
  // Unchanged members: nothing moves, but the epoch still rises.
  auto r3 = claim(r2, ms, {.ring_size = 64});
  CHECK(r3.moved == 0);
  CHECK(r3.next.epoch() == 3);
  CHECK(claim(r3.next, {}, {}).next.empty());
}

TEST_CASE("preference lists: distinct primaries, fallbacks for the missing") {
  auto r = claim(ring{}, nodes(6), {.ring_size = 64}).next;
  auto all = [](const std::string&) { return true; };
  for (std::uint32_t p = 0; p < 64; ++p) {
    auto list = r.preference_list(p, 3, all);
    REQUIRE(list.size() == 3);
    for (std::uint32_t k = 0; k < 3; ++k) {
      CHECK(list[k].primary);
      CHECK(list[k].partition == (p + k) % 64);
      CHECK(list[k].node_id == r.owner((p + k) % 64));
    }
    CHECK(r.route(p, all) == r.owner(p));
  }
  // The owner of partition 10 is gone: its fallback is the next node round
  // the ring that is not a primary already.
  auto gone = r.owner(10);
  auto without = [&gone](const std::string& id) { return id != gone; };
  auto list = r.preference_list(10, 3, without);
  REQUIRE(list.size() == 3);
  CHECK(list[0].primary);
  CHECK(list[0].node_id == r.owner(11));
  CHECK(list[1].primary);
  CHECK(list[1].node_id == r.owner(12));
  CHECK_FALSE(list[2].primary);
  CHECK(list[2].partition == 10);
  std::set<std::string> distinct;
  for (const auto& e : list) {
    CHECK(e.node_id != gone);
    distinct.insert(e.node_id);
  }
  CHECK(distinct.size() == 3);
  CHECK(r.route(10, without) == r.owner(11));
  // Nobody available: nothing to route to.
  auto none = [](const std::string&) { return false; };
  CHECK(r.preference_list(10, 3, none).empty());
  CHECK(r.route(10, none).empty());
  CHECK(ring{}.route(0, all).empty());
}

TEST_CASE("rings merge by a total order, epoch first") {
  auto a = claim(ring{}, nodes(3), {.ring_size = 16}).next;
  auto b = claim(ring{}, nodes(4), {.ring_size = 16}).next;
  CHECK(a.epoch() == b.epoch());
  CHECK((a < b || b < a));
  auto c = claim(a, nodes(4), {.ring_size = 16}).next;
  CHECK(a < c);
  CHECK(b < c);
}

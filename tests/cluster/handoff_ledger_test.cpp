// The receiving side of handoff: every item of a transfer applied once,
// at its done, whatever the network loses, repeats or reorders.
#include "troupe/cluster/handoff_ledger.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace tc = troupe::cluster;
namespace tw = troupe::cluster::wire;
using outcome = tc::handoff_ledger::outcome;

namespace {

using clock_type = std::chrono::steady_clock;
const clock_type::time_point t0{};

tw::handoff_item item(std::uint64_t transfer, std::uint32_t seq,
                      std::uint32_t partition = 7, std::uint64_t epoch = 3) {
  return {.epoch = epoch,
          .partition = partition,
          .name = "ledger/" + std::to_string(seq),
          .state = std::to_string(transfer) + ":" + std::to_string(seq),
          .transfer = transfer,
          .sequence = seq};
}

tw::handoff_done done(std::uint64_t transfer, std::uint32_t items,
                      std::uint64_t open_from = 0, std::uint32_t partition = 7,
                      std::uint64_t epoch = 3) {
  return {.epoch = epoch,
          .partition = partition,
          .items = items,
          .transfer = transfer,
          .open_from = open_from};
}

std::vector<std::string> states(const tc::handoff_ledger::done_result& r) {
  std::vector<std::string> out;
  for (const auto& i : r.items) {
    out.push_back(i.state);
  }
  return out;
}

} // namespace

TEST_SUITE_BEGIN("cluster.handoff_ledger");

TEST_CASE("a transfer id puts the boot above the count") {
  CHECK(tc::transfer_id(1, 1) == (std::uint64_t{1} << 32) + 1);
  CHECK(tc::transfer_id(2, 0) > tc::transfer_id(1, 0xffffffffU));
}

TEST_CASE("items are given out at their done, in order, once") {
  tc::handoff_ledger l;
  auto id = tc::transfer_id(1, 1);
  CHECK(l.add("a", item(id, 1), t0));
  CHECK(l.add("a", item(id, 0), t0));
  CHECK(l.kept_items() == 2);
  auto r = l.done("a", done(id, 2), t0);
  CHECK(r.what == outcome::apply);
  CHECK(states(r)
        == std::vector<std::string>{std::to_string(id) + ":0",
                                    std::to_string(id) + ":1"});
  CHECK(l.kept_items() == 0);
  // The sender did not see the acknowledgement and sends it all again.
  CHECK_FALSE(l.add("a", item(id, 0), t0));
  CHECK_FALSE(l.add("a", item(id, 1), t0));
  auto again = l.done("a", done(id, 2), t0);
  CHECK(again.what == outcome::repeat);
  CHECK(again.items.empty());
  CHECK(l.kept_items() == 0);
}

TEST_CASE("an item sent twice before the done is kept once") {
  tc::handoff_ledger l;
  auto id = tc::transfer_id(1, 1);
  CHECK(l.add("a", item(id, 0), t0));
  CHECK_FALSE(l.add("a", item(id, 0), t0));
  auto r = l.done("a", done(id, 1), t0);
  REQUIRE(r.what == outcome::apply);
  CHECK(r.items.size() == 1);
}

TEST_CASE("a second transfer of the same partition in the same epoch from "
          "the same sender is applied too") {
  tc::handoff_ledger l;
  auto first = tc::transfer_id(1, 1);
  auto second = tc::transfer_id(1, 2);
  CHECK(l.add("a", item(first, 0), t0));
  CHECK(l.done("a", done(first, 1), t0).what == outcome::apply);
  CHECK(l.add("a", item(second, 0), t0));
  auto r = l.done("a", done(second, 1), t0);
  CHECK(r.what == outcome::apply);
  CHECK(r.items.size() == 1);
}

TEST_CASE("senders are told apart: the same id from two nodes is two "
          "transfers") {
  tc::handoff_ledger l;
  auto id = tc::transfer_id(1, 1);
  CHECK(l.add("a", item(id, 0), t0));
  CHECK(l.add("b", item(id, 0), t0));
  CHECK(l.done("a", done(id, 1), t0).what == outcome::apply);
  CHECK(l.done("b", done(id, 1), t0).what == outcome::apply);
}

TEST_CASE("a done with items missing waits for them; the resent transfer "
          "completes it") {
  tc::handoff_ledger l;
  auto id = tc::transfer_id(1, 1);
  CHECK(l.add("a", item(id, 0), t0));
  CHECK(l.add("a", item(id, 2), t0));
  auto r = l.done("a", done(id, 3), t0);
  CHECK(r.what == outcome::incomplete);
  CHECK(r.missing == 1);
  CHECK(r.items.empty());
  // An item beyond what the done counts is no part of it.
  CHECK(l.add("a", item(id, 5), t0));
  CHECK(l.done("a", done(id, 3), t0).what == outcome::incomplete);
  CHECK_FALSE(l.add("a", item(id, 0), t0));
  CHECK(l.add("a", item(id, 1), t0));
  auto whole = l.done("a", done(id, 3), t0);
  CHECK(whole.what == outcome::apply);
  CHECK(whole.items.size() == 3);
  CHECK(l.kept_items() == 0);
}

TEST_CASE("an empty transfer applies at once") {
  tc::handoff_ledger l;
  auto id = tc::transfer_id(1, 1);
  auto r = l.done("a", done(id, 0), t0);
  CHECK(r.what == outcome::apply);
  CHECK(r.items.empty());
  CHECK(l.done("a", done(id, 0), t0).what == outcome::repeat);
}

TEST_CASE("a frame without a transfer id is refused") {
  tc::handoff_ledger l;
  CHECK_FALSE(l.add("a", item(0, 0), t0));
  CHECK(l.done("a", done(0, 1), t0).what == outcome::repeat);
  CHECK(l.kept_items() == 0);
}

TEST_CASE("what the sender will not send again is forgotten; a late copy "
          "of it is refused") {
  tc::handoff_ledger l;
  for (std::uint32_t n = 1; n <= 5; ++n) {
    auto id = tc::transfer_id(1, n);
    CHECK(l.add("a", item(id, 0), t0));
    CHECK(l.done("a", done(id, 1, tc::transfer_id(1, 1)), t0).what
          == outcome::apply);
  }
  CHECK(l.remembered() == 5);
  // Transfers 1 to 5 were acknowledged: the sender's next done says so.
  auto next = tc::transfer_id(1, 6);
  CHECK(l.done("a", done(next, 0, next), t0).what == outcome::apply);
  CHECK(l.remembered() == 1);
  CHECK_FALSE(l.add("a", item(tc::transfer_id(1, 3), 0), t0));
  CHECK(l.done("a", done(tc::transfer_id(1, 3), 1), t0).what
        == outcome::repeat);
  // A done cannot forget itself: an open_from above it is taken as it.
  auto later = tc::transfer_id(1, 7);
  CHECK(l.add("a", item(later, 0), t0));
  CHECK(l.done("a", done(later, 1, tc::transfer_id(1, 9)), t0).what
        == outcome::apply);
  CHECK(l.done("a", done(later, 1), t0).what == outcome::repeat);
}

TEST_CASE("a restarted sender's transfers are new, and its earlier boot's "
          "are forgotten") {
  tc::handoff_ledger l;
  auto old_id = tc::transfer_id(1, 1);
  CHECK(l.add("a", item(old_id, 0), t0));
  CHECK(l.done("a", done(old_id, 1, old_id), t0).what == outcome::apply);
  CHECK(l.add("a", item(tc::transfer_id(1, 2), 0), t0)); // never done
  auto fresh = tc::transfer_id(2, 1);
  CHECK(l.add("a", item(fresh, 0), t0));
  CHECK(l.done("a", done(fresh, 1, fresh), t0).what == outcome::apply);
  CHECK(l.remembered() == 1);
  CHECK(l.kept_items() == 0);
}

TEST_CASE("items of a transfer nobody finishes expire") {
  tc::handoff_ledger l;
  auto id = tc::transfer_id(1, 1);
  CHECK(l.add("a", item(id, 0), t0));
  CHECK(l.add("a", item(id, 1), t0 + std::chrono::seconds{2}));
  CHECK(l.expire(t0 + std::chrono::seconds{1}) == 0);
  CHECK(l.expire(t0 + std::chrono::seconds{3}) == 2);
  CHECK(l.kept_items() == 0);
  // Sent again from the start, it applies whole.
  CHECK(l.add("a", item(id, 0), t0));
  CHECK(l.add("a", item(id, 1), t0));
  CHECK(l.done("a", done(id, 2), t0).what == outcome::apply);
}

TEST_CASE("over a network that loses, repeats and reorders frames, every "
          "item is applied exactly once and never before its done") {
  using frame = std::variant<tw::handoff_item, tw::handoff_done>;
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    CAPTURE(seed);
    std::mt19937_64 rng{seed};
    auto chance = [&rng](double p) {
      return std::bernoulli_distribution{p}(rng);
    };
    // The sender: transfers of one to five partitions, some in a second
    // boot, each with up to four items.
    struct sent {
      std::uint64_t id;
      std::uint32_t items;
      bool acked = false;
    };
    std::vector<sent> transfers;
    std::uint32_t boots = chance(0.5) ? 2 : 1;
    for (std::uint32_t boot = 1; boot <= boots; ++boot) {
      auto n = std::uniform_int_distribution<std::uint32_t>{1, 5}(rng);
      for (std::uint32_t k = 1; k <= n; ++k) {
        transfers.push_back(
          {tc::transfer_id(boot, k),
           std::uniform_int_distribution<std::uint32_t>{0, 4}(rng)});
      }
    }
    tc::handoff_ledger l;
    std::map<std::string, int> applied;
    std::vector<frame> in_flight;
    auto now = t0;
    std::size_t boot_start = 0; // the first transfer of the current boot
    for (int round = 0; round < 400; ++round) {
      now += std::chrono::milliseconds{100};
      // The sender (re)sends every open transfer of its current boot: a
      // node that restarted has lost its earlier boot's.
      auto open_from = transfers.back().id + 1;
      for (std::size_t i = boot_start; i < transfers.size(); ++i) {
        if (!transfers[i].acked) {
          open_from = std::min(open_from, transfers[i].id);
        }
      }
      for (std::size_t i = boot_start; i < transfers.size(); ++i) {
        const auto& t = transfers[i];
        if (t.acked || (i > boot_start && !transfers[i - 1].acked)) {
          continue; // sent one after another
        }
        for (std::uint32_t s = 0; s < t.items; ++s) {
          in_flight.emplace_back(item(t.id, s));
        }
        in_flight.emplace_back(done(t.id, t.items, open_from));
      }
      // The network: loses, repeats, reorders and holds back.
      std::shuffle(in_flight.begin(), in_flight.end(), rng);
      std::vector<frame> held;
      for (auto& f : in_flight) {
        if (chance(0.3)) {
          continue;
        }
        if (chance(0.2)) {
          held.push_back(f);
          continue;
        }
        if (chance(0.1)) {
          held.push_back(f);
        }
        if (auto* it = std::get_if<tw::handoff_item>(&f)) {
          l.add("a", *it, now);
          continue;
        }
        auto& d = std::get<tw::handoff_done>(f);
        auto r = l.done("a", d, now);
        if (r.what == outcome::apply) {
          CHECK(r.items.size() == d.items);
          for (const auto& x : r.items) {
            CHECK(x.transfer == d.transfer);
            ++applied[x.state];
          }
        }
        if (r.what != outcome::incomplete && !chance(0.3)) {
          for (auto& t : transfers) {
            t.acked = t.acked || t.id == d.transfer;
          }
        }
      }
      in_flight = std::move(held);
      l.expire(now - std::chrono::seconds{2});
      // The second boot starts once the first's transfers are through, or
      // at random: what the first did not finish is lost with it.
      if (boots == 2 && boot_start == 0) {
        auto first_boot_end = static_cast<std::size_t>(
          std::count_if(transfers.begin(), transfers.end(),
                        [](const sent& t) { return (t.id >> 32) == 1; }));
        bool through = std::all_of(transfers.begin(),
                                   transfers.begin() + first_boot_end,
                                   [](const sent& t) { return t.acked; });
        if (through || chance(0.02)) {
          boot_start = first_boot_end;
        }
      }
    }
    for (std::size_t i = boot_start; i < transfers.size(); ++i) {
      CHECK_MESSAGE(transfers[i].acked, "transfer " << i);
    }
    for (const auto& [state, times] : applied) {
      CHECK_MESSAGE(times == 1, state);
    }
    for (std::size_t i = boot_start; i < transfers.size(); ++i) {
      for (std::uint32_t s = 0; s < transfers[i].items; ++s) {
        auto st = std::to_string(transfers[i].id) + ":" + std::to_string(s);
        CHECK_MESSAGE(applied.count(st) == 1, st);
      }
    }
    // Once everything is acknowledged, the sender's next done lets the
    // ledger forget the rest; what the network still held is refused or
    // expires.
    auto next = transfers.back().id + 1;
    CHECK(l.done("a", done(next, 0, next), now).what == outcome::apply);
    CHECK(l.remembered() == 1);
    for (auto& f : in_flight) {
      if (auto* it = std::get_if<tw::handoff_item>(&f)) {
        CHECK_FALSE(l.add("a", *it, now));
      } else {
        CHECK(l.done("a", std::get<tw::handoff_done>(f), now).what
              == outcome::repeat);
      }
    }
    l.expire(now + std::chrono::seconds{1});
    CHECK(l.kept_items() == 0);
  }
}

TEST_SUITE_END();

// The handoff plan over every ring of four partitions and three nodes,
// every previous ring and every set of available nodes: whoever waits for
// a partition has a sender, every change of owner has exactly one sender,
// and transfers go only where they can be taken.
#include "troupe/cluster/handoff_plan.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace tc = troupe::cluster;

namespace {

const std::vector<std::string> nodes{"a", "b", "c"};

// The `i`-th assignment of 4 partitions to the three nodes (base 3).
std::vector<std::string> owners_of(int i) {
  std::vector<std::string> out;
  for (int p = 0; p < 4; ++p) {
    out.push_back(nodes[static_cast<std::size_t>(i % 3)]);
    i /= 3;
  }
  return out;
}

tc::routing_view view_of(const tc::ring& r, unsigned available_mask,
                         unsigned active_mask, const std::string& self) {
  tc::routing_view v;
  v.current = r;
  v.self = self;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (((available_mask >> n) & 1U) != 0) {
      v.available.insert(nodes[n]);
    }
    if (((active_mask >> n) & 1U) != 0) {
      v.active.insert(nodes[n]);
    }
  }
  v.index();
  return v;
}

bool never(const std::string&, std::uint64_t, std::uint32_t) {
  return false;
}

} // namespace

TEST_SUITE_BEGIN("cluster.handoff_plan");

TEST_CASE("every ring change: one sender per moved partition, and a sender "
          "for every wait") {
  int cases = 0;
  for (int now = 0; now < 81; ++now) {
    for (int before = 0; before < 81; ++before) {
      tc::ring r{7, owners_of(now), owners_of(before)};
      for (unsigned avail = 0; avail < 8; ++avail) {
        ++cases;
        CAPTURE(now);
        CAPTURE(before);
        CAPTURE(avail);
        std::vector<std::vector<std::uint32_t>> over(nodes.size());
        for (std::size_t n = 0; n < nodes.size(); ++n) {
          over[n] = tc::partitions_to_hand_over(r, nodes[n]);
        }
        for (std::uint32_t p = 0; p < 4; ++p) {
          int senders = 0;
          for (std::size_t n = 0; n < nodes.size(); ++n) {
            senders += std::count(over[n].begin(), over[n].end(), p);
          }
          bool moved = r.owner(p) != r.previous_owner(p);
          CHECK(senders == (moved ? 1 : 0));
        }
        for (std::size_t n = 0; n < nodes.size(); ++n) {
          const auto& self = nodes[n];
          auto v = view_of(r, avail, 7, self);
          auto plan = tc::plan_arrival(v, self, never);
          for (std::uint32_t p = 0; p < 4; ++p) {
            bool owned = std::count(plan.owned.begin(), plan.owned.end(), p)
                         > 0;
            CHECK(owned == (r.owner(p) == self));
            auto w = plan.awaited.find(p);
            bool expect_wait = r.owner(p) == self && r.previous_owner(p) != self
                               && v.is_available(r.previous_owner(p));
            REQUIRE((w != plan.awaited.end()) == expect_wait);
            if (expect_wait) {
              // The one it waits for sends it.
              CHECK(w->second == r.previous_owner(p));
              auto from = static_cast<std::size_t>(
                std::find(nodes.begin(), nodes.end(), w->second)
                - nodes.begin());
              CHECK(std::count(over[from].begin(), over[from].end(), p) == 1);
            }
          }
          // Every handed-over partition goes to its new owner while that
          // is an active member (reachable or not).
          for (auto p : over[n]) {
            CHECK(tc::transfer_destination(v, self, p, true) == r.owner(p));
          }
        }
      }
    }
  }
  CHECK(cases == 81 * 81 * 8);
}

TEST_CASE("a previous owner that already handed a partition over is not "
          "waited for") {
  tc::ring r{5, {"b", "b", "b", "b"}, {"a", "a", "c", "c"}};
  auto v = view_of(r, 7, 7, "b");
  auto plan = tc::plan_arrival(
    v, "b", [](const std::string& from, std::uint64_t epoch, std::uint32_t p) {
      return from == "a" && epoch == 5 && p == 1;
    });
  CHECK(plan.owned.size() == 4);
  CHECK(plan.awaited
        == std::map<std::uint32_t, std::string>{{0, "a"}, {2, "c"}, {3, "c"}});
}

TEST_CASE("a transfer to a gone owner goes where messages go") {
  for (int now = 0; now < 81; ++now) {
    tc::ring r{3, owners_of(now), {"a", "a", "a", "a"}};
    for (unsigned avail = 0; avail < 8; ++avail) {
      for (unsigned active = 0; active < 8; ++active) {
        auto v = view_of(r, avail & active, active, "a");
        for (auto p : tc::partitions_to_hand_over(r, "a")) {
          auto to = tc::transfer_destination(v, "a", p, true);
          if (v.active.count(r.owner(p)) > 0) {
            CHECK(to == r.owner(p));
          } else {
            CHECK(to == v.target(p));
            CHECK((to.empty() || v.is_available(to)));
          }
          // A fallback's hand-back follows the target, whoever owns it.
          CHECK(tc::transfer_destination(v, "a", p, false) == v.target(p));
        }
      }
    }
  }
}

TEST_CASE("a transfer sent and not acknowledged goes again where it went "
          "while that node is active, wherever the ring has moved") {
  for (int now = 0; now < 81; ++now) {
    tc::ring r{3, owners_of(now), {"a", "a", "a", "a"}};
    for (unsigned avail = 0; avail < 8; ++avail) {
      for (unsigned active = 0; active < 8; ++active) {
        auto v = view_of(r, avail & active, active, "a");
        for (std::uint32_t p = 0; p < 4; ++p) {
          for (const auto& sent_to : nodes) {
            for (bool ownership : {true, false}) {
              auto to = tc::transfer_destination(v, "a", p, ownership, sent_to);
              if (sent_to != "a" && v.active.count(sent_to) > 0) {
                CHECK(to == sent_to);
              } else {
                CHECK(to == tc::transfer_destination(v, "a", p, ownership));
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("a fallback hands back exactly the hosted partitions whose target "
          "is another node") {
  for (int now = 0; now < 81; ++now) {
    tc::ring r{2, owners_of(now)};
    for (unsigned avail = 0; avail < 8; ++avail) {
      auto v = view_of(r, avail, 7, "b");
      for (unsigned hosted_mask = 0; hosted_mask < 16; ++hosted_mask) {
        std::set<std::uint32_t> hosted;
        for (std::uint32_t p = 0; p < 4; ++p) {
          if (((hosted_mask >> p) & 1U) != 0) {
            hosted.insert(p);
          }
        }
        auto back = tc::partitions_to_hand_back(v, "b", hosted);
        for (auto p : hosted) {
          const auto& to = v.target(p);
          CHECK((back.count(p) > 0) == (!to.empty() && to != "b"));
        }
        for (auto p : back) {
          CHECK(hosted.count(p) > 0);
        }
      }
    }
  }
  CHECK(tc::partitions_to_hand_back(tc::routing_view{}, "b", {0, 1}).empty());
}

TEST_SUITE_END();

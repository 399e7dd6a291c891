// Tests of the deterministic actor-system fixture.
#include "troupe/testkit/deterministic.hpp"

#include <doctest/doctest.h>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>

#include <thread>

namespace {

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using start_atom = caf::atom_constant<caf::atom("start")>;

} // namespace

TEST_SUITE_BEGIN("testkit.deterministic");

TEST_CASE("two actors exchange messages on the test thread, one at a time") {
  troupe::testkit::deterministic_system ds;
  auto handler_threads = std::make_shared<std::vector<std::thread::id>>();
  auto ponger = ds.spawn([handler_threads](caf::event_based_actor*) {
    return caf::behavior{[handler_threads](ping_atom, int n) {
      handler_threads->push_back(std::this_thread::get_id());
      return caf::make_message(pong_atom::value, n);
    }};
  });
  auto pinger
    = ds.spawn([handler_threads, ponger](caf::event_based_actor* self) {
        return caf::behavior{
          [self, ponger](start_atom, int start) {
            self->send(ponger, ping_atom::value, start);
          },
          [self, ponger, handler_threads](pong_atom, int n) {
            handler_threads->push_back(std::this_thread::get_id());
            if (n < 5) {
              self->send(ponger, ping_atom::value, n + 1);
            }
          },
        };
      });
  ds.run(); // both actors initialize
  caf::anon_send(pinger, start_atom::value, 1);
  CHECK(ds.run_once()); // pinger handles start
  CHECK(ds.run_once()); // ponger handles ping 1
  CHECK_EQ(handler_threads->size(), 1u);
  CHECK_EQ(ds.run(), 9u); // the remaining 4 pongs and pings + 1
  CHECK_FALSE(ds.run_once());
  REQUIRE_EQ(handler_threads->size(), 10u);
  for (auto id : *handler_threads) {
    CHECK_EQ(id, std::this_thread::get_id());
  }
}

TEST_CASE("a probe receives the replies to messages sent in its name") {
  troupe::testkit::deterministic_system ds;
  auto doubler = ds.spawn([](caf::event_based_actor*) {
    return caf::behavior{[](int n) { return n * 2; }};
  });
  troupe::testkit::deterministic_system::probe probe{ds};
  caf::send_as(probe.handle(), doubler, 21);
  ds.run();
  auto reply = probe.next();
  REQUIRE(reply);
  REQUIRE(reply->match_elements<int>());
  CHECK_EQ(reply->get_as<int>(0), 42);
  CHECK_FALSE(probe.next());
}

TEST_CASE("timers fire only when the test advances the clock") {
  troupe::testkit::deterministic_system ds;
  troupe::testkit::deterministic_system::probe probe{ds};
  auto delayed
    = ds.spawn([probe = probe.handle()](caf::event_based_actor* self) {
        self->delayed_send(probe, std::chrono::seconds{5}, caf::atom("tick"));
        return caf::behavior{[](const caf::unit_t&) {}};
      });
  ds.run();
  CHECK_EQ(probe.size(), 0u);
  ds.advance(std::chrono::seconds{4});
  CHECK_EQ(probe.size(), 0u);
  ds.advance(std::chrono::seconds{1});
  CHECK_EQ(probe.size(), 1u);
}

TEST_SUITE_END();

// Tests of the node-local name registry.
#include "troupe/actors/registry.hpp"

#include "tests/actors/fixture.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

namespace ta = troupe::actors;
using namespace std::chrono_literals;

namespace {

caf::actor spawn_echo(caf::actor_system& sys) {
  return sys.spawn([](caf::event_based_actor*) {
    return caf::behavior{[](const std::string& s) { return s; }};
  });
}

} // namespace

TEST_SUITE_BEGIN("actors.registry");

TEST_CASE_FIXTURE(troupe::test::actor_fixture,
                  "a registered name finds its actor until it exits") {
  auto a = spawn_echo(*sys);
  REQUIRE_FALSE(registry->register_name("echo", a));
  CHECK_EQ(registry->whereis("echo"), a);
  CHECK_EQ(registry->name_of(a.address()), "echo");
  CHECK_EQ(registry->names(), std::vector<std::string>{"echo"});
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  CHECK(troupe::testkit::wait_until(
    [this] { return !registry->whereis("echo"); }, 10s));
  CHECK(registry->names().empty());
}

TEST_CASE_FIXTURE(troupe::test::actor_fixture,
                  "a taken name is refused and the holder keeps it") {
  auto a = spawn_echo(*sys);
  auto b = spawn_echo(*sys);
  REQUIRE_FALSE(registry->register_name("svc", a));
  auto err = registry->register_name("svc", b);
  CHECK_EQ(err, ta::errc::name_taken);
  CHECK_EQ(registry->whereis("svc"), a);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(troupe::test::actor_fixture,
                  "an actor that already exited is never left registered") {
  auto a = spawn_echo(*sys);
  {
    caf::scoped_actor self{*sys};
    self->monitor(a);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    self->receive([](caf::down_msg&) {});
  }
  CHECK_FALSE(registry->register_name("late", a));
  CHECK_FALSE(registry->whereis("late"));
}

TEST_CASE_FIXTURE(troupe::test::actor_fixture,
                  "names can be dropped and reused; bad names are refused") {
  auto a = spawn_echo(*sys);
  REQUIRE_FALSE(registry->register_name("x", a));
  CHECK(registry->unregister_name("x"));
  CHECK_FALSE(registry->unregister_name("x"));
  CHECK_FALSE(registry->register_name("x", a));
  CHECK_EQ(registry->register_name("", a), caf::sec::invalid_argument);
  CHECK_EQ(registry->register_name(std::string(256, 'n'), a),
           caf::sec::invalid_argument);
  CHECK_EQ(registry->register_name("y", caf::actor{}),
           caf::sec::invalid_argument);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(troupe::test::actor_fixture, "send by name delivers or "
                                               "says the name is unknown") {
  auto a = spawn_echo(*sys);
  REQUIRE_FALSE(registry->register_name("echo", a));
  caf::scoped_actor self{*sys};
  auto target = registry->whereis("echo");
  std::string got;
  self->request(target, 5s, std::string{"hi"})
    .receive([&got](std::string& s) { got = s; }, [](caf::error&) {});
  CHECK_EQ(got, "hi");
  CHECK_FALSE(registry->send("echo", std::string{"async"}));
  CHECK_EQ(registry->send("nobody", std::string{"x"}),
           ta::errc::name_not_registered);
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_SUITE_END();

// Tests of the state machine behaviour, through its public API.
#include "troupe/actors/gen_statem.hpp"

#include "tests/actors/fixture.hpp"
#include "troupe/testkit/wait.hpp"

#include "troupe/testkit/journal.hpp"

#include <doctest/doctest.h>

#include <mutex>

namespace ta = troupe::actors;
using namespace std::chrono_literals;

namespace {

using button_atom = caf::atom_constant<caf::atom("button")>;
using push_atom = caf::atom_constant<caf::atom("push")>;
using which_atom = caf::atom_constant<caf::atom("which")>;
using lock_atom = caf::atom_constant<caf::atom("lock")>;
using idle_atom = caf::atom_constant<caf::atom("idle")>;
using alarm_atom = caf::atom_constant<caf::atom("alarm")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;

using troupe::testkit::journal;

enum class door { locked, open };

std::string to_text(door d) {
  return d == door::locked ? "locked" : "open";
}

// OTP's code lock: the right button opens the door for a while; pushes on
// a locked door wait until it opens.
struct code_lock {
  using interface = caf::typed_actor<
    caf::replies_to<button_atom, int>::with<std::string>,
    caf::replies_to<which_atom>::with<std::string>,
    caf::replies_to<lock_atom>::with<std::string>,
    caf::reacts_to<push_atom, int>, caf::reacts_to<idle_atom, int>,
    caf::reacts_to<alarm_atom, int>, caf::reacts_to<crash_atom>>;
  using state_type = door;

  int code = 0;
  std::chrono::milliseconds open_time{0};
  std::shared_ptr<journal> j;

  ta::statem_init<door> init(ta::statem_context<code_lock>&, int c,
                             std::chrono::milliseconds open_for,
                             std::shared_ptr<journal> jr) {
    code = c;
    open_time = open_for;
    j = std::move(jr);
    return ta::statem_init<door>::ok(door::locked);
  }

  void on_enter(ta::statem_context<code_lock>& ctx, const door& old) {
    j->add("enter:" + to_text(old) + "->" + to_text(ctx.state()));
    if (ctx.state() == door::open) {
      ctx.state_timeout(open_time, caf::make_message(std::string{"relock"}));
    }
  }

  void handle_event(ta::statem_context<code_lock>& ctx, ta::event_type type,
                    const caf::message& m) {
    using ta::event_type;
    switch (type) {
      case event_type::call:
        if (m.match_elements<button_atom, int>()) {
          if (ctx.state() == door::locked && m.get_as<int>(1) == code) {
            ctx.next_state(door::open);
            ctx.reply(std::string{"open"});
          } else {
            ctx.reply(to_text(ctx.state()));
          }
        } else if (m.match_elements<which_atom>()) {
          ctx.reply(to_text(ctx.state()));
        } else if (m.match_elements<lock_atom>()) {
          ctx.next_state(door::locked);
          ctx.reply(std::string{"locked"});
        }
        break;
      case event_type::cast:
        if (m.match_elements<push_atom, int>()) {
          if (ctx.state() == door::locked) {
            ctx.postpone();
          } else {
            j->add("push:" + std::to_string(m.get_as<int>(1)));
          }
        } else if (m.match_elements<idle_atom, int>()) {
          ctx.event_timeout(std::chrono::milliseconds{m.get_as<int>(1)},
                            caf::make_message(std::string{"idle"}));
        } else if (m.match_elements<alarm_atom, int>()) {
          ctx.generic_timeout("alarm",
                              std::chrono::milliseconds{m.get_as<int>(1)});
        } else if (m.match_elements<crash_atom>()) {
          throw std::runtime_error("lock jammed");
        }
        break;
      case event_type::info:
        j->add("info:" + caf::to_string(m));
        break;
      case event_type::event_timeout:
        j->add("event_timeout:" + m.get_as<std::string>(0));
        break;
      case event_type::state_timeout:
        j->add("state_timeout:" + m.get_as<std::string>(0));
        ctx.next_state(door::locked);
        break;
      case event_type::generic_timeout:
        j->add("generic_timeout:" + ctx.timeout_name());
        break;
    }
  }

  void terminate(ta::statem_context<code_lock>& ctx, const caf::error&) {
    j->add("terminate:" + to_text(ctx.state()));
  }

  std::string format_status() const {
    return "code=" + std::to_string(code);
  }
};

struct fixture : troupe::test::actor_fixture {
  std::shared_ptr<journal> j = std::make_shared<journal>();
  std::vector<caf::actor> machines;

  ~fixture() {
    for (auto& m : machines) {
      caf::anon_send_exit(m, caf::exit_reason::user_shutdown);
    }
  }

  code_lock::interface start_lock(std::chrono::milliseconds open_for = 10s) {
    auto s = ta::start_statem<code_lock>(*sys, {}, 1234, open_for, j);
    REQUIRE(s);
    machines.push_back(caf::actor_cast<caf::actor>(s->handle));
    return s->handle;
  }
};

} // namespace

TEST_SUITE_BEGIN("actors.gen_statem");

TEST_CASE_FIXTURE(fixture, "init sets the first state and runs its enter "
                           "call") {
  auto lock = start_lock();
  ta::caller c{*sys};
  CHECK_EQ(*c.call(lock, which_atom::value), "locked");
  CHECK(j->has("enter:locked->locked"));
}

TEST_CASE_FIXTURE(fixture, "calls move the machine between states") {
  auto lock = start_lock();
  ta::caller c{*sys};
  CHECK_EQ(*c.call(lock, button_atom::value, 1), "locked");
  CHECK_EQ(*c.call(lock, button_atom::value, 1234), "open");
  CHECK_EQ(*c.call(lock, which_atom::value), "open");
  CHECK(j->has("enter:locked->open"));
}

TEST_CASE_FIXTURE(fixture, "postponed events come back after the state "
                           "changes, in order") {
  auto lock = start_lock();
  ta::cast(lock, push_atom::value, 1);
  ta::cast(lock, push_atom::value, 2);
  ta::caller c{*sys};
  CHECK_EQ(*c.call(lock, which_atom::value), "locked");
  CHECK_FALSE(j->has("push:1"));
  CHECK_EQ(*c.call(lock, button_atom::value, 1234), "open");
  CHECK(troupe::testkit::wait_until([this] { return j->has("push:2"); }, 10s));
  CHECK_LT(j->index_of("push:1"), j->index_of("push:2"));
  CHECK_LT(j->index_of("enter:locked->open"), j->index_of("push:1"));
}

TEST_CASE_FIXTURE(fixture, "a state timeout fires while the state lasts") {
  auto lock = start_lock(20ms);
  ta::caller c{*sys};
  CHECK_EQ(*c.call(lock, button_atom::value, 1234), "open");
  CHECK(troupe::testkit::wait_until(
    [this] { return j->has("state_timeout:relock"); }, 10s));
  CHECK_EQ(*c.call(lock, which_atom::value), "locked");
}

TEST_CASE_FIXTURE(fixture, "a state change cancels the state timeout") {
  auto lock = start_lock(200ms);
  ta::caller c{*sys};
  CHECK_EQ(*c.call(lock, button_atom::value, 1234), "open");
  CHECK_EQ(*c.call(lock, lock_atom::value), "locked");
  ta::cast(lock, alarm_atom::value, 400); // a marker later than the timeout
  CHECK(troupe::testkit::wait_until(
    [this] { return j->has("generic_timeout:alarm"); }, 10s));
  CHECK_FALSE(j->has("state_timeout:relock"));
}

TEST_CASE_FIXTURE(fixture, "an event timeout fires only if no event came") {
  auto lock = start_lock();
  ta::cast(lock, idle_atom::value, 20);
  CHECK(troupe::testkit::wait_until(
    [this] { return j->has("event_timeout:idle"); }, 10s));
}

TEST_CASE_FIXTURE(fixture, "any event cancels the event timeout") {
  auto lock = start_lock();
  ta::cast(lock, idle_atom::value, 200);
  ta::cast(lock, alarm_atom::value, 400); // an event, and a later marker
  CHECK(troupe::testkit::wait_until(
    [this] { return j->has("generic_timeout:alarm"); }, 10s));
  CHECK_FALSE(j->has("event_timeout:idle"));
}

TEST_CASE_FIXTURE(fixture, "a generic timeout survives events and state "
                           "changes") {
  auto lock = start_lock();
  ta::cast(lock, alarm_atom::value, 50);
  ta::caller c{*sys};
  CHECK_EQ(*c.call(lock, button_atom::value, 1234), "open");
  CHECK_EQ(*c.call(lock, lock_atom::value), "locked");
  CHECK(troupe::testkit::wait_until(
    [this] { return j->has("generic_timeout:alarm"); }, 10s));
}

TEST_CASE_FIXTURE(fixture, "messages outside the interface are info events") {
  auto lock = start_lock();
  caf::anon_send(caf::actor_cast<caf::actor>(lock), std::string{"stray"});
  ta::caller c{*sys};
  REQUIRE(c.call(lock, which_atom::value));
  CHECK(j->has("info:(\"stray\")"));
}

TEST_CASE_FIXTURE(fixture, "stop runs terminate; a throw is a crash report") {
  auto lock = start_lock();
  ta::caller c{*sys};
  REQUIRE_FALSE(c.stop(lock));
  CHECK(j->has("terminate:locked"));
  auto second = start_lock();
  ta::cast(second, crash_atom::value);
  auto deadline_ok = troupe::testkit::wait_until(
    [this] { return !cfg.crashes->read().reports.empty(); }, 10s);
  REQUIRE(deadline_ok);
  auto report = cfg.crashes->read().reports.at(0);
  CHECK_EQ(report.behaviour, "gen_statem");
  CHECK_EQ(report.status, "code=1234");
  CHECK(report.reason.find("lock jammed") != std::string::npos);
}

TEST_SUITE_END();

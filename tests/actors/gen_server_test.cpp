// Tests of the generic server behaviour, through its public API.
#include "troupe/actors/gen_server.hpp"

#include "tests/actors/fixture.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <caf/exit_reason.hpp>

#include <condition_variable>
#include <mutex>

namespace ta = troupe::actors;
using namespace std::chrono_literals;

namespace {

using get_atom = caf::atom_constant<caf::atom("get")>;
using add_atom = caf::atom_constant<caf::atom("add")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using boom_atom = caf::atom_constant<caf::atom("boom")>;
using later_atom = caf::atom_constant<caf::atom("later")>;
using never_atom = caf::atom_constant<caf::atom("never")>;
using halt_atom = caf::atom_constant<caf::atom("halt")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

/// What the test observes of a server from outside.
struct observations {
  std::mutex mtx;
  std::vector<std::string> events;
  std::condition_variable released_cv;
  bool released = false;

  void add(std::string event) {
    std::lock_guard guard{mtx};
    events.push_back(std::move(event));
  }
  bool has(const std::string& event) {
    std::lock_guard guard{mtx};
    return std::find(events.begin(), events.end(), event) != events.end();
  }
  void release() {
    std::lock_guard guard{mtx};
    released = true;
    released_cv.notify_all();
  }
  void wait_released() {
    std::unique_lock guard{mtx};
    released_cv.wait(guard, [this] { return released; });
  }
};

enum class start_mode { ok, fail, ignore, wait_for_release };

struct counter {
  using interface = caf::typed_actor<
    caf::replies_to<get_atom>::with<int>, caf::reacts_to<add_atom, int>,
    caf::replies_to<log_atom>::with<std::vector<int>>,
    caf::replies_to<boom_atom>::with<int>,
    caf::replies_to<later_atom, int>::with<int>,
    caf::replies_to<never_atom>::with<int>,
    caf::replies_to<halt_atom>::with<int>>;

  int value = 0;
  std::vector<int> added;
  std::shared_ptr<observations> obs;
  std::optional<caf::typed_response_promise<int>> pending;
  int pending_value = 0;
  std::optional<caf::typed_response_promise<int>> never;

  ta::init_result init(ta::server_context<counter>& ctx, start_mode mode,
                       int start, std::shared_ptr<observations> o, bool trap) {
    obs = std::move(o);
    value = start;
    ctx.trap_exits(trap);
    switch (mode) {
      case start_mode::ok:
        return ta::init_result::ok();
      case start_mode::fail:
        return ta::init_result::stop(
          caf::make_error(caf::sec::invalid_argument, "bad start"));
      case start_mode::ignore:
        return ta::init_result::ignore();
      case start_mode::wait_for_release:
        obs->wait_released();
        return ta::init_result::ok();
    }
    return ta::init_result::ok();
  }

  interface::behavior_type handlers(ta::server_context<counter>& ctx) {
    return {
      [this](get_atom) { return value; },
      [this](add_atom, int n) {
        value += n;
        added.push_back(n);
      },
      [this](log_atom) { return added; },
      [](boom_atom) -> int { throw std::runtime_error("boom in handle_call"); },
      [this, &ctx](later_atom, int n) {
        pending = ctx.promise<int>();
        pending_value = n;
        ctx.self()->delayed_send(ctx.self(), 10ms, deliver_atom::value);
        return *pending;
      },
      [this, &ctx](never_atom) {
        never = ctx.promise<int>();
        return *never;
      },
      [&ctx](halt_atom) {
        ctx.stop(caf::make_error(caf::sec::runtime_error, "halted"));
        return 7;
      },
    };
  }

  void handle_info(ta::server_context<counter>&, const caf::message& msg) {
    if (msg.match_elements<deliver_atom>() && pending) {
      pending->deliver(pending_value * 2);
      pending.reset();
      return;
    }
    if (msg.match_elements<caf::exit_msg>()) {
      const auto& em = msg.get_as<caf::exit_msg>(0);
      obs->add("info:exit:" + caf::to_string(em.reason));
      return;
    }
    obs->add("info:" + caf::to_string(msg));
  }

  void terminate(ta::server_context<counter>&, const caf::error& reason) {
    obs->add("terminate:" + caf::to_string(reason));
  }

  std::string format_status() const {
    return "value=" + std::to_string(value);
  }
};

using counter_handle = ta::server_handle<counter>;

struct fixture : troupe::test::actor_fixture {
  std::shared_ptr<observations> obs = std::make_shared<observations>();
  std::vector<caf::actor> started_servers;

  ~fixture() {
    // A server holding a promise to itself never becomes unreachable.
    for (auto& server : started_servers) {
      caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
    }
  }

  caf::expected<ta::started<counter_handle>>
  start(start_mode mode, int initial = 0, ta::start_options opts = {},
        bool trap = false) {
    auto s = ta::start<counter>(*sys, opts, mode, initial, obs, trap);
    if (s && !s->ignored) {
      started_servers.push_back(caf::actor_cast<caf::actor>(s->handle));
    }
    return s;
  }

  counter_handle start_ok(int initial = 0) {
    auto s = start(start_mode::ok, initial);
    REQUIRE(s);
    REQUIRE_FALSE(s->ignored);
    return s->handle;
  }

  // Waits for `who` to exit; returns its exit reason.
  std::optional<caf::error> wait_down(const caf::actor& who) {
    caf::scoped_actor self{*sys};
    self->monitor(who);
    std::optional<caf::error> reason;
    self->receive([&reason](caf::down_msg& dm) { reason = dm.reason; },
                  caf::after(10s) >> [] {});
    return reason;
  }
};

} // namespace

TEST_SUITE_BEGIN("actors.gen_server");

TEST_CASE_FIXTURE(fixture, "init ok starts the server with its state") {
  auto server = start_ok(41);
  ta::caller c{*sys};
  auto v = c.call(server, get_atom::value);
  REQUIRE(v);
  CHECK_EQ(*v, 41);
}

TEST_CASE_FIXTURE(fixture, "init error fails the start with that error") {
  auto s = start(start_mode::fail);
  REQUIRE_FALSE(s);
  CHECK_EQ(s.error(), caf::sec::invalid_argument);
}

TEST_CASE_FIXTURE(fixture, "init ignore reports ignored and the server exits") {
  auto s = start(start_mode::ignore);
  REQUIRE(s);
  CHECK(s->ignored);
}

TEST_CASE_FIXTURE(fixture, "a start returns only after init has finished") {
  auto s = start(start_mode::wait_for_release, 0, {.init_timeout = 50ms});
  REQUIRE_FALSE(s);
  CHECK_EQ(s.error(), ta::errc::init_timeout);
  obs->release();
}

TEST_CASE_FIXTURE(fixture, "a call can be replied to later through a promise") {
  auto server = start_ok();
  ta::caller c{*sys};
  auto v = c.call(server, later_atom::value, 21);
  REQUIRE(v);
  CHECK_EQ(*v, 42);
}

TEST_CASE_FIXTURE(fixture, "a call that gets no reply times out as an error") {
  auto server = start_ok();
  ta::caller c{*sys};
  auto v = c.call(server, 50ms, never_atom::value);
  REQUIRE_FALSE(v);
  CHECK_EQ(v.error(), caf::sec::request_timeout);
  // The server is still serving.
  CHECK(c.call(server, get_atom::value));
}

TEST_CASE_FIXTURE(fixture, "a call to a dead server is an error at once") {
  auto server = start_ok();
  ta::caller c{*sys};
  REQUIRE_FALSE(c.stop(server));
  auto v = c.call(server, 60s, get_atom::value);
  REQUIRE_FALSE(v);
  CHECK_EQ(v.error(), caf::sec::request_receiver_down);
}

TEST_CASE_FIXTURE(fixture, "casts are handled in the order they were sent") {
  auto server = start_ok();
  std::vector<int> sent;
  for (int i = 0; i < 1000; ++i) {
    sent.push_back((i * 7919) % 1000);
    ta::cast(server, add_atom::value, sent.back());
  }
  ta::caller c{*sys};
  auto log = c.call(server, log_atom::value);
  REQUIRE(log);
  CHECK_EQ(*log, sent);
}

TEST_CASE_FIXTURE(fixture, "stop runs terminate with the reason and waits") {
  auto server = start_ok();
  ta::caller c{*sys};
  auto reason = caf::make_error(caf::exit_reason::user_shutdown);
  REQUIRE_FALSE(c.stop(server, reason));
  CHECK(obs->has("terminate:" + caf::to_string(reason)));
  CHECK_EQ(log_lines_with("event=actor.crash"), 0u); // shutdown is no crash
}

TEST_CASE_FIXTURE(fixture, "a throw in a call errors the caller and reports a "
                           "crash with the last message") {
  auto s = start(start_mode::ok, 5, {.name = "crashy", .registry = registry});
  REQUIRE(s);
  ta::caller c{*sys};
  auto v = c.call(s->handle, boom_atom::value);
  REQUIRE_FALSE(v);
  CHECK_EQ(v.error(), ta::errc::exception_thrown);
  CHECK(sys->render(v.error()).find("boom in handle_call")
        != std::string::npos);
  CHECK(obs->has("terminate:" + caf::to_string(v.error())));
  auto reports = cfg.crashes->read().reports;
  REQUIRE_EQ(reports.size(), 1u);
  CHECK_EQ(reports[0].name, "crashy");
  CHECK_EQ(reports[0].behaviour, "gen_server");
  CHECK(reports[0].last_message.find("boom") != std::string::npos);
  CHECK_EQ(reports[0].status, "value=5");
  CHECK(reports[0].reason.find("boom in handle_call") != std::string::npos);
  CHECK_EQ(log_lines_with("event=actor.crash"), 1u);
  // The name went with the actor.
  CHECK(troupe::testkit::wait_until(
    [this] { return !registry->whereis("crashy"); }, 10s));
}

TEST_CASE_FIXTURE(fixture, "a call may stop the server and still reply") {
  auto server = start_ok();
  ta::caller c{*sys};
  auto v = c.call(server, halt_atom::value);
  REQUIRE(v);
  CHECK_EQ(*v, 7);
  auto reason = wait_down(caf::actor_cast<caf::actor>(server));
  REQUIRE(reason);
  CHECK_EQ(*reason, caf::sec::runtime_error);
  CHECK_EQ(cfg.crashes->read().reports.size(), 1u);
}

TEST_CASE_FIXTURE(fixture, "a name is held by one server at a time") {
  auto first = start(start_mode::ok, 1, {.name = "svc", .registry = registry});
  REQUIRE(first);
  auto second = start(start_mode::ok, 2, {.name = "svc", .registry = registry});
  REQUIRE_FALSE(second);
  CHECK_EQ(second.error(), ta::errc::name_taken);
  CHECK_EQ(registry->whereis("svc"),
           caf::actor_cast<caf::actor>(first->handle));
  ta::caller c{*sys};
  REQUIRE_FALSE(c.stop(first->handle));
  CHECK(troupe::testkit::wait_until(
    [this] { return !registry->whereis("svc"); }, 10s));
  CHECK(start(start_mode::ok, 3, {.name = "svc", .registry = registry}));
}

TEST_CASE_FIXTURE(fixture, "messages outside the interface go to handle_info") {
  auto server = start_ok();
  caf::anon_send(caf::actor_cast<caf::actor>(server), std::string{"stray"});
  ta::caller c{*sys};
  REQUIRE(c.call(server, get_atom::value)); // handled after the stray one
  CHECK(obs->has("info:(\"stray\")"));
}

TEST_SUITE_END();

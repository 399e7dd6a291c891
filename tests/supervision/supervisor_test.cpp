// Tests of supervisors, through the public API.
#include "troupe/supervision/supervisor.hpp"
#include "troupe/supervision/supervisor_client.hpp"

#include "tests/actors/fixture.hpp"
#include "tests/supervision/sup_fixture.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <random>
#include <set>

namespace ta = troupe::actors;
namespace ts = troupe::supervision;
using namespace std::chrono_literals;

namespace {

using troupe::test::journal;
using troupe::test::ping_atom;
using troupe::test::quit_atom;
using troupe::test::worker;

using fixture = troupe::test::supervision_fixture;

caf::error reason_of(const std::string& kind) {
  if (kind == "normal") {
    return {};
  }
  if (kind == "shutdown") {
    return caf::exit_reason::user_shutdown;
  }
  return caf::make_error(caf::sec::runtime_error, "crash");
}

} // namespace

TEST_SUITE_BEGIN("supervision.supervisor");

TEST_CASE("bad specs and flags are refused, naming the child and field") {
  std::vector<ts::child_spec> specs(1);
  specs[0].id = "worker1";
  specs[0].start = [](caf::actor_system&, const caf::actor&,
                      const caf::message&) -> caf::expected<caf::actor> {
    return caf::actor{};
  };
  specs[0].significant = true; // on a permanent child
  auto err = ts::validate({.auto_shutdown = ts::auto_shutdown::any_significant},
                          specs);
  CHECK_EQ(err, ts::errc::invalid_child_spec);
  auto text = caf::to_string(err.context());
  CHECK(text.find("worker1") != std::string::npos);
  CHECK(text.find("significant") != std::string::npos);
  specs[0].significant = false;
  CHECK_FALSE(ts::validate({}, specs));
  specs.push_back(specs[0]);
  CHECK(caf::to_string(ts::validate({}, specs).context()).find("id")
        != std::string::npos);
  specs.pop_back();
  specs[0].shutdown = ts::shutdown_spec::after(0ms);
  CHECK_EQ(ts::validate({}, specs), ts::errc::invalid_child_spec);
  specs[0].shutdown.reset();
  CHECK_EQ(ts::validate({.period = 0ms}, specs), ts::errc::invalid_flags);
  specs.push_back(specs[0]);
  specs[1].id = "worker2";
  CHECK_EQ(ts::validate({.strategy = ts::strategy::simple_one_for_one}, specs),
           ts::errc::invalid_flags);
}

TEST_CASE("OTP defaults: 1 restart in 5 s, 5 s shutdown for workers, "
          "infinity for supervisors") {
  ts::supervisor_flags flags;
  CHECK_EQ(flags.intensity, 1u);
  CHECK_EQ(flags.period, 5000ms);
  CHECK_EQ(flags.strategy, ts::strategy::one_for_one);
  ts::child_spec w;
  CHECK_EQ(w.effective_shutdown().how, ts::shutdown_spec::kind::timeout);
  CHECK_EQ(w.effective_shutdown().timeout, 5000ms);
  auto s = ts::supervisor_child("s", {}, {});
  CHECK_EQ(s.effective_shutdown().how, ts::shutdown_spec::kind::infinity);
}

TEST_CASE_FIXTURE(fixture, "children start in order and stop in reverse") {
  auto sup = ts::start_supervisor(*sys, {},
                                  {child("a"), child("b"), child("c")});
  REQUIRE(sup);
  CHECK_EQ(j->snapshot(),
           std::vector<std::string>{"start:a", "start:b", "start:c"});
  stop(*sup);
  CHECK_EQ(j->snapshot(),
           std::vector<std::string>{"start:a", "start:b", "start:c", "stop:c",
                                    "stop:b", "stop:a"});
}

TEST_CASE_FIXTURE(fixture, "a failed start stops the started children in "
                           "reverse and fails the supervisor") {
  auto sup = ts::start_supervisor(
    *sys, {},
    {child("a"), child("b"), child("c", ts::restart_type::permanent, true),
     child("d")});
  REQUIRE_FALSE(sup);
  CHECK_EQ(sup.error(), ts::errc::child_start_failed);
  CHECK(sys->render(sup.error()).find("\"c\"") != std::string::npos);
  CHECK_EQ(j->snapshot(),
           std::vector<std::string>{"start:a", "start:b", "stop:b", "stop:a"});
}

TEST_CASE_FIXTURE(fixture, "restart type x exit reason x strategy") {
  for (auto strat : {ts::strategy::one_for_one, ts::strategy::one_for_all,
                     ts::strategy::rest_for_one}) {
    for (auto restart :
         {ts::restart_type::permanent, ts::restart_type::transient,
          ts::restart_type::temporary}) {
      for (std::string kind : {"normal", "shutdown", "abnormal"}) {
        CAPTURE(ts::to_string(strat));
        CAPTURE(ts::to_string(restart));
        CAPTURE(kind);
        auto sup
          = ts::start_supervisor(*sys, {.strategy = strat, .intensity = 10},
                                 {child("a"), child("b", restart), child("c")});
        REQUIRE(sup);
        auto before = children(*sup);
        make_exit(before[1].handle, reason_of(kind));
        bool restarts = restart == ts::restart_type::permanent
                        || (restart == ts::restart_type::transient
                            && kind == "abnormal");
        if (!restarts) {
          REQUIRE(troupe::testkit::wait_until(
            [&] {
              auto now = children(*sup);
              return restart == ts::restart_type::temporary ? now.size() == 2
                                                            : !now[1].running;
            },
            30s));
          auto now = children(*sup);
          CHECK_EQ(now.front().handle, before[0].handle);
          CHECK_EQ(now.back().handle, before[2].handle);
        } else {
          // Which siblings are restarted with b.
          bool a_too = strat == ts::strategy::one_for_all;
          bool c_too = strat != ts::strategy::one_for_one;
          REQUIRE(troupe::testkit::wait_until(
            [&] {
              auto now = children(*sup);
              return now[1].running && now[1].handle != before[1].handle
                     && (!c_too || now[2].handle != before[2].handle)
                     && now[2].running && now[0].running;
            },
            30s));
          auto now = children(*sup);
          CHECK_EQ(now[0].handle != before[0].handle, a_too);
          CHECK_EQ(now[2].handle != before[2].handle, c_too);
          CHECK_EQ(now[1].restarts, 1u);
        }
        stop(*sup);
      }
    }
  }
}

TEST_CASE_FIXTURE(fixture, "rest_for_one restarts exactly the later "
                           "siblings, in order") {
  auto sup
    = ts::start_supervisor(*sys, {.strategy = ts::strategy::rest_for_one},
                           {child("a"), child("b"), child("c"), child("d")});
  REQUIRE(sup);
  auto before = children(*sup);
  make_exit(before[1].handle, reason_of("abnormal"));
  REQUIRE(troupe::testkit::wait_until(
    [&] {
      auto now = children(*sup);
      return now[3].running && now[3].handle != before[3].handle;
    },
    30s));
  auto lines = j->snapshot();
  std::vector<std::string> tail(lines.begin() + 4, lines.end());
  CHECK_EQ(tail, std::vector<std::string>{"stop:b", "stop:d", "stop:c",
                                          "start:b", "start:c", "start:d"});
  stop(*sup);
}

TEST_CASE_FIXTURE(fixture, "exactly N restarts in the period are allowed; "
                           "N+1 make the supervisor give up") {
  auto sup = ts::start_supervisor(*sys, {.intensity = 2, .period = 60s},
                                  {child("a"), child("b")});
  REQUIRE(sup);
  for (std::uint32_t i = 1; i <= 2; ++i) {
    auto before = handle_of(*sup, "a");
    make_exit(before, reason_of("abnormal"));
    REQUIRE(troupe::testkit::wait_until(
      [&] {
        auto h = handle_of(*sup, "a");
        return h && h != before;
      },
      30s));
  }
  watch w{*sys, *sup};
  make_exit(handle_of(*sup, "a"), reason_of("abnormal"));
  auto reason = w.reason();
  REQUIRE(reason);
  // As OTP's: the supervisor exits with shutdown, and its report says why.
  CHECK_EQ(*reason, caf::exit_reason::user_shutdown);
  auto lines = j->snapshot();
  CHECK_EQ(lines.back(), "stop:b"); // a crashed; the rest were stopped
  CHECK_GE(log_lines_with("event=sup.give_up"), 1u);
  auto reports = cfg.crashes->read().reports;
  REQUIRE_FALSE(reports.empty());
  const auto& last = reports.back();
  CHECK_EQ(last.kind, "supervisor");
  CHECK_EQ(last.context, "shutdown");
  CHECK_EQ(last.offender, "a");
  CHECK_EQ(last.reason, "reached_max_restart_intensity");
}

TEST_CASE_FIXTURE(fixture, "escalation travels up a three-level tree") {
  auto leaf = child("leaf");
  auto mid = ts::supervisor_child("mid", {.intensity = 0}, {leaf});
  auto sup = ts::start_supervisor(*sys, {.intensity = 5}, {mid});
  REQUIRE(sup);
  ts::supervisor_client root{*sys, *sup};
  auto tree = root.tree();
  REQUIRE(tree);
  REQUIRE_EQ(tree->size(), 1u);
  REQUIRE_EQ(tree->front().children.size(), 1u);
  auto mid_before = tree->front().handle;
  make_exit(tree->front().children.front().handle, reason_of("abnormal"));
  REQUIRE(troupe::testkit::wait_until(
    [&] {
      auto now = root.which_children();
      return now && now->front().running && now->front().handle != mid_before;
    },
    30s));
  auto now = root.which_children();
  CHECK_EQ(now->front().restarts, 1u);
  stop(*sup);
}

TEST_CASE_FIXTURE(fixture, "a child that ignores shutdown is killed after "
                           "its timeout") {
  ts::child_spec stubborn;
  stubborn.id = "stubborn";
  stubborn.shutdown = ts::shutdown_spec::after(50ms);
  stubborn.start = [](caf::actor_system& sys, const caf::actor&,
                      const caf::message&) -> caf::expected<caf::actor> {
    return sys.spawn([](caf::event_based_actor* self) {
      self->set_exit_handler([](caf::exit_msg&) {}); // ignores shutdown
      return caf::behavior{[](ping_atom) { return 1; }};
    });
  };
  auto sup = ts::start_supervisor(*sys, {}, {stubborn});
  REQUIRE(sup);
  watch w{*sys, handle_of(*sup, "stubborn")};
  ts::supervisor_client client{*sys, *sup};
  REQUIRE_FALSE(client.terminate_child("stubborn"));
  auto reason = w.reason();
  REQUIRE(reason);
  CHECK_EQ(*reason, caf::exit_reason::kill);
  stop(*sup);
}

TEST_CASE_FIXTURE(fixture, "a child with shutdown infinity is waited for") {
  using release_atom = caf::atom_constant<caf::atom("release")>;
  auto asked = std::make_shared<std::atomic<bool>>(false);
  ts::child_spec slow;
  slow.id = "slow";
  slow.shutdown = ts::shutdown_spec::infinity();
  slow.start = [asked](caf::actor_system& sys, const caf::actor&,
                       const caf::message&) -> caf::expected<caf::actor> {
    return sys.spawn([asked](caf::event_based_actor* self) {
      self->set_exit_handler([asked](caf::exit_msg&) { *asked = true; });
      return caf::behavior{[self](release_atom) { self->quit(); }};
    });
  };
  auto sup = ts::start_supervisor(*sys, {}, {slow});
  REQUIRE(sup);
  auto child_handle = handle_of(*sup, "slow");
  auto done = std::async(std::launch::async, [this, &sup] {
    ts::supervisor_client client{*sys, *sup};
    return client.terminate_child("slow");
  });
  REQUIRE(troupe::testkit::wait_until([&asked] { return asked->load(); }, 30s));
  // The child has its shutdown request and is still running: the
  // supervisor is still waiting.
  CHECK(done.wait_for(0s) == std::future_status::timeout);
  caf::anon_send(child_handle, release_atom::value);
  CHECK_FALSE(done.get());
  stop(*sup);
}

TEST_CASE_FIXTURE(fixture, "the dynamic API adds, stops, restarts and "
                           "deletes children") {
  auto sup = ts::start_supervisor(*sys, {}, {child("a")});
  REQUIRE(sup);
  ts::supervisor_client client{*sys, *sup};
  auto b = client.start_child(child("b"));
  REQUIRE(b);
  // A running child's id: already started, with its handle (OTP's
  // {already_started, Child}); one not running: already present.
  auto again = client.start_child(child("b"));
  REQUIRE_FALSE(again);
  CHECK_EQ(again.error(), ts::errc::already_started);
  CHECK(again.error().context().match_elements<std::string, caf::actor>());
  CHECK_EQ(again.error().context().get_as<caf::actor>(1), *b);
  auto counts = client.count_children();
  REQUIRE(counts);
  CHECK_EQ(counts->specs, 2u);
  CHECK_EQ(counts->active, 2u);
  CHECK_EQ(counts->workers, 2u);
  REQUIRE_FALSE(client.terminate_child("b"));
  CHECK_EQ(client.count_children()->active, 1u);
  CHECK_EQ(client.start_child(child("b")).error(), ts::errc::already_present);
  CHECK_EQ(client.delete_child("a"), ts::errc::child_running);
  REQUIRE(client.restart_child("b"));
  CHECK_EQ(client.restart_child("b").error(), ts::errc::child_running);
  REQUIRE_FALSE(client.terminate_child("b"));
  REQUIRE_FALSE(client.delete_child("b"));
  CHECK_EQ(client.terminate_child("b"), ts::errc::no_such_child);
  CHECK_EQ(client.count_children()->specs, 1u);
  stop(*sup);
}

TEST_CASE_FIXTURE(fixture, "simple_one_for_one children come from a "
                           "template with their own arguments") {
  ts::child_spec tmpl;
  tmpl.id = "w";
  tmpl.init_handshake = true;
  tmpl.restart = ts::restart_type::transient;
  tmpl.start = [this](caf::actor_system& sys, const caf::actor& parent,
                      const caf::message& args) {
    return ta::spawn_server<worker>(sys, {.parent = parent},
                                    args.get_as<std::string>(0), j, false);
  };
  auto sup = ts::start_supervisor(
    *sys, {.strategy = ts::strategy::simple_one_for_one}, {tmpl});
  REQUIRE(sup);
  ts::supervisor_client client{*sys, *sup};
  CHECK(client.start_child(caf::make_message(std::string{"x"})));
  CHECK(client.start_child(caf::make_message(std::string{"y"})));
  CHECK_EQ(client.start_child(child("z")).error(), ts::errc::wrong_strategy);
  auto list = client.which_children();
  REQUIRE_EQ(list->size(), 2u);
  std::reverse(list->begin(), list->end()); // OTP's order: the last first
  CHECK_EQ(list->at(0).id, "w/1");
  CHECK(troupe::testkit::wait_until(
    [this] {
      auto lines = j->snapshot();
      return std::count(lines.begin(), lines.end(), "start:y") == 1;
    },
    30s));
  // A transient child that exits normally is gone for good.
  make_exit(list->at(0).handle, reason_of("normal"));
  CHECK(troupe::testkit::wait_until(
    [&] { return client.which_children()->size() == 1; }, 30s));
  stop(*sup);
}

TEST_CASE_FIXTURE(fixture, "significant children shut their supervisor down "
                           "per auto_shutdown") {
  for (auto mode : {ts::auto_shutdown::any_significant,
                    ts::auto_shutdown::all_significant}) {
    CAPTURE(static_cast<int>(mode));
    auto s1 = child("s1", ts::restart_type::transient);
    s1.significant = true;
    auto s2 = child("s2", ts::restart_type::transient);
    s2.significant = true;
    auto sup = ts::start_supervisor(*sys, {.auto_shutdown = mode},
                                    {child("plain"), s1, s2});
    REQUIRE(sup);
    watch down{*sys, *sup};
    make_exit(handle_of(*sup, "s1"), reason_of("normal"));
    if (mode == ts::auto_shutdown::all_significant) {
      REQUIRE(troupe::testkit::wait_until(
        [&] { return !handle_of(*sup, "s1"); }, 30s));
      CHECK(handle_of(*sup, "s2")); // still up: one significant child left
      make_exit(handle_of(*sup, "s2"), reason_of("normal"));
    }
    auto reason = down.reason();
    REQUIRE(reason);
    CHECK_EQ(*reason, caf::exit_reason::user_shutdown); // as OTP's
    auto lines = j->snapshot();
    CHECK(std::count(lines.begin(), lines.end(), "stop:plain") >= 1);
  }
}

TEST_CASE_FIXTURE(fixture, "chaos: 10,000 random kills in a tree of 1,000 "
                           "children leave every child alive once") {
  auto seed_text = std::getenv("TROUPE_TEST_SEED");
  std::uint64_t seed = seed_text != nullptr ? std::stoull(seed_text) : 20261124;
  CAPTURE(seed);
  constexpr int n = 1000;
  constexpr int kills = 10000;
  std::vector<ts::child_spec> specs;
  for (int i = 0; i < n; ++i) {
    ts::child_spec s;
    s.id = "c" + std::to_string(i);
    s.shutdown = ts::shutdown_spec::brutal_kill();
    s.start = [](caf::actor_system& sys, const caf::actor&,
                 const caf::message&) -> caf::expected<caf::actor> {
      return sys.spawn([](caf::event_based_actor*) {
        return caf::behavior{[](ping_atom) { return 1; }};
      });
    };
    specs.push_back(std::move(s));
  }
  auto baseline = sys->registry().running();
  auto sup = ts::start_supervisor(*sys, {.intensity = 1'000'000, .period = 1s},
                                  std::move(specs));
  REQUIRE(sup);
  std::mt19937_64 rng{seed};
  std::uniform_int_distribution<int> pick{0, n - 1};
  int delivered = 0;
  auto total = 0u;
  auto running = 0;
  // Settled: every child running again and one restart per kill.
  auto settled = [&] {
    return troupe::testkit::wait_until(
      [&] {
        total = 0u;
        running = 0;
        for (const auto& c : children(*sup)) {
          total += c.restarts;
          running += c.running ? 1 : 0;
        }
        return running == n && total == static_cast<unsigned>(delivered);
      },
      120s);
  };
  std::vector<ts::child_info> snapshot;
  std::set<caf::actor_id> killed;
  for (int k = 0; delivered < kills; ++k) {
    if (k % 500 == 0) {
      // Kill only handles the supervisor has seen alive since the last kill.
      REQUIRE(settled());
      snapshot = children(*sup);
      killed.clear();
    }
    auto& victim = snapshot[static_cast<size_t>(pick(rng))];
    if (killed.count(victim.handle.id()) > 0) {
      continue;
    }
    killed.insert(victim.handle.id());
    caf::anon_send_exit(victim.handle, caf::exit_reason::kill);
    ++delivered;
  }
  auto ok = settled();
  CAPTURE(total);
  CAPTURE(running);
  CAPTURE(delivered);
  REQUIRE(ok);
  auto final = children(*sup);
  std::set<caf::actor_id> ids;
  for (const auto& c : final) {
    ids.insert(c.handle.id());
  }
  CHECK_EQ(ids.size(), static_cast<size_t>(n)); // each alive exactly once
  CHECK_EQ(delivered, kills);
  // Live actors: the baseline plus the supervisor and its children.
  CHECK_EQ(sys->registry().running(), baseline + 1 + n);
  stop(*sup);
  CHECK(troupe::testkit::wait_until(
    [&] { return sys->registry().running() == baseline; }, 60s));
}

TEST_SUITE_END();

// Tests of applications: spec checks, dependency order, the controller.
#include "troupe/supervision/application.hpp"
#include "troupe/supervision/application_controller.hpp"

#include "troupe/runtime/errors.hpp"

#include "tests/supervision/sup_fixture.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <caf/exit_reason.hpp>

#include <mutex>

namespace ts = troupe::supervision;
using namespace std::chrono_literals;

namespace {

using troupe::test::worker;

caf::error crash() {
  return caf::make_error(caf::sec::runtime_error, "crash");
}

// A root supervisor and a controller over it; records stop_node calls.
struct app_fixture : troupe::test::supervision_fixture {
  caf::actor root;
  caf::actor controller;
  std::mutex mtx;
  std::vector<caf::error> node_stops;

  app_fixture() {
    auto r = ts::start_supervisor(*sys, {}, {});
    REQUIRE(r);
    root = *r;
    controller = ts::spawn_application_controller(
      *sys, {.root = root, .stop_node = [this](const caf::error& err) {
               std::lock_guard<std::mutex> guard{mtx};
               node_stops.push_back(err);
             }});
  }

  ~app_fixture() {
    if (controller) {
      CHECK_FALSE(apps().stop_all());
      caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
    }
    stop(root);
  }

  ts::application_client apps() {
    return {*sys, controller};
  }

  // An application with one worker named `<name>.w`; intensity 0, so any
  // crash of the worker makes the top supervisor give up.
  ts::application_spec app(const std::string& name,
                           ts::app_restart_type restart,
                           std::vector<std::string> deps = {}) {
    return {.name = name,
            .dependencies = std::move(deps),
            .restart = restart,
            .flags = {.intensity = 0},
            .children = {child(name + ".w")}};
  }

  ts::application_info info(const std::string& name) {
    auto list = apps().which_applications();
    REQUIRE(list);
    for (auto& a : *list) {
      if (a.name == name) {
        return a;
      }
    }
    FAIL("no application " << name);
    return {};
  }

  caf::actor worker_of(const std::string& name) {
    return handle_of(info(name).supervisor, name + ".w");
  }

  // Whether the controller logged that `name`'s exit stops the node.
  bool logged_stop_node(const std::string& name) {
    for (const auto& line : captured->last_formatted()) {
      if (line.find("event=app.exit name=" + name + " ") != std::string::npos
          && line.find("action=stop_node") != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  size_t stops_requested() {
    std::lock_guard<std::mutex> guard{mtx};
    return node_stops.size();
  }
};

} // namespace

TEST_SUITE_BEGIN("supervision.application");

TEST_CASE("bad application specs are refused, naming the application and "
          "field") {
  auto bad = [](ts::application_spec spec, const std::string& text) {
    auto err = ts::validate(spec);
    REQUIRE(err);
    CHECK(err == ts::errc::invalid_application);
    CHECK(troupe::runtime::describe(err).find(text) != std::string::npos);
  };
  bad({.name = ""}, "name");
  bad({.name = "a b"}, "name");
  bad({.name = "a", .dependencies = {"a"}}, "depends on itself");
  bad({.name = "a", .dependencies = {"b", "b"}}, "\"b\" listed twice");
  ts::child_spec nameless;
  bad({.name = "web", .children = {nameless}}, "application \"web\"");
  CHECK_FALSE(ts::validate({.name = "web-1.0_x", .dependencies = {"db"}}));
}

TEST_CASE("dependencies start first, each once, in the order listed") {
  ts::dependency_graph g{
    {"web", {"db", "cache"}}, {"db", {"log"}}, {"cache", {"log"}}, {"log", {}}};
  auto order = ts::start_order(g, "web");
  REQUIRE(order);
  CHECK(*order == std::vector<std::string>{"log", "db", "cache", "web"});
  auto alone = ts::start_order(g, "log");
  REQUIRE(alone);
  CHECK(*alone == std::vector<std::string>{"log"});
}

TEST_CASE("a missing dependency or a cycle is an error naming it") {
  ts::dependency_graph missing{{"web", {"db"}}};
  auto m = ts::start_order(missing, "web");
  REQUIRE_FALSE(m);
  CHECK(m.error() == ts::errc::no_such_application);
  CHECK(troupe::runtime::describe(m.error())
        == "application \"db\" (needed by \"web\") is not loaded");
  ts::dependency_graph cycle{{"a", {"b"}}, {"b", {"c"}}, {"c", {"a"}}};
  auto c = ts::start_order(cycle, "a");
  REQUIRE_FALSE(c);
  CHECK(c.error() == ts::errc::dependency_cycle);
  CHECK(troupe::runtime::describe(c.error()) == "a -> b -> c -> a");
}

TEST_CASE("application restart types decide whether an exit stops the node") {
  using ts::app_restart_type;
  auto shutdown = caf::error{caf::exit_reason::user_shutdown};
  CHECK(ts::stops_node(app_restart_type::permanent, {}));
  CHECK(ts::stops_node(app_restart_type::permanent, shutdown));
  CHECK(ts::stops_node(app_restart_type::permanent, crash()));
  CHECK_FALSE(ts::stops_node(app_restart_type::transient, {}));
  CHECK(ts::stops_node(app_restart_type::transient, shutdown));
  CHECK(ts::stops_node(app_restart_type::transient, crash()));
  CHECK_FALSE(ts::stops_node(app_restart_type::temporary, {}));
  CHECK_FALSE(ts::stops_node(app_restart_type::temporary, shutdown));
  CHECK_FALSE(ts::stops_node(app_restart_type::temporary, crash()));
}

TEST_CASE_FIXTURE(app_fixture, "an application starts only after its "
                               "dependencies run") {
  using ts::app_restart_type;
  REQUIRE_FALSE(apps().load(app("web", app_restart_type::temporary, {"db"})));
  REQUIRE_FALSE(apps().load(app("db", app_restart_type::temporary)));
  auto err = apps().start("web");
  CHECK(err == ts::errc::dependency_not_running);
  CHECK(troupe::runtime::describe(err)
        == "application \"web\" needs \"db\", which is not running");
  CHECK(info("web").status == ts::app_status::loaded);
  auto started = apps().ensure_all_started("web");
  REQUIRE(started);
  CHECK(*started == std::vector<std::string>{"db", "web"});
  CHECK(j->snapshot() == std::vector<std::string>{"start:db.w", "start:web.w"});
  CHECK(info("web").status == ts::app_status::running);
  auto again = apps().ensure_all_started("web");
  REQUIRE(again);
  CHECK(again->empty());
  // The applications' top supervisors are children of the root, by name.
  auto tree = ts::supervisor_client{*sys, root}.tree();
  REQUIRE(tree);
  REQUIRE(tree->size() == 2);
  CHECK((*tree)[0].id == "db");
  CHECK((*tree)[0].type == ts::child_type::supervisor);
  CHECK((*tree)[1].children.at(0).id == "web.w");
}

TEST_CASE_FIXTURE(app_fixture, "loading, unloading and starting unknown "
                               "applications give clear errors") {
  using ts::app_restart_type;
  REQUIRE_FALSE(apps().load(app("db", app_restart_type::temporary)));
  CHECK(apps().load(app("db", app_restart_type::temporary))
        == ts::errc::application_already_loaded);
  CHECK(apps().start("nope") == ts::errc::no_such_application);
  CHECK(apps().stop("db") == ts::errc::application_not_running);
  REQUIRE_FALSE(apps().start("db"));
  CHECK(apps().unload("db") == ts::errc::application_running);
  REQUIRE_FALSE(apps().stop("db"));
  CHECK_FALSE(apps().unload("db"));
  CHECK(apps().which_applications()->empty());
}

TEST_CASE_FIXTURE(app_fixture, "a failed start leaves the application "
                               "loaded and names the cause") {
  auto spec = app("bad", ts::app_restart_type::permanent);
  spec.children = {child("bad.w", ts::restart_type::permanent, true)};
  REQUIRE_FALSE(apps().load(spec));
  auto err = apps().start("bad");
  REQUIRE(err);
  CHECK(troupe::runtime::describe(err).find("refused to start")
        != std::string::npos);
  CHECK(info("bad").status == ts::app_status::loaded);
  CHECK(stops_requested() == 0);
}

TEST_CASE_FIXTURE(app_fixture, "stopping by request stops the tree in "
                               "reverse, calls on_stop and never stops the "
                               "node") {
  std::vector<std::string> hooks;
  for (auto name : {"a", "b", "c"}) {
    auto spec = app(name, ts::app_restart_type::permanent);
    spec.on_stop = [&hooks, name](const caf::error&) {
      hooks.emplace_back(name);
    };
    REQUIRE_FALSE(apps().load(spec));
    REQUIRE_FALSE(apps().start(name));
  }
  REQUIRE_FALSE(apps().stop("b"));
  CHECK(info("b").last_exit == "stopped");
  REQUIRE_FALSE(apps().stop_all());
  CHECK(hooks == std::vector<std::string>{"b", "c", "a"});
  auto lines = j->snapshot();
  CHECK(std::vector<std::string>(lines.begin() + 3, lines.end())
        == std::vector<std::string>{"stop:b.w", "stop:c.w", "stop:a.w"});
  CHECK(stops_requested() == 0);
}

TEST_CASE_FIXTURE(app_fixture, "exit of an application by type and reason") {
  using ts::app_restart_type;
  struct row {
    app_restart_type type;
    bool crashed; // the top supervisor gives up, or it ends normally
    bool stops;
  };
  for (auto r : {row{app_restart_type::permanent, true, true},
                 row{app_restart_type::permanent, false, true},
                 row{app_restart_type::transient, true, true},
                 // As OTP 25: the top supervisor's auto_shutdown exits with
                 // shutdown, which is not normal.
                 row{app_restart_type::transient, false, true},
                 row{app_restart_type::temporary, true, false},
                 row{app_restart_type::temporary, false, false}}) {
    CAPTURE(ts::to_string(r.type));
    CAPTURE(r.crashed);
    auto name = ts::to_string(r.type) + (r.crashed ? "-crash" : "-done");
    auto spec = app(name, r.type);
    if (!r.crashed) {
      // A work unit: its significant worker ends normally, and the top
      // supervisor shuts down normally with it.
      spec.flags.auto_shutdown = ts::auto_shutdown::any_significant;
      spec.children.front().restart = ts::restart_type::transient;
      spec.children.front().significant = true;
    }
    REQUIRE_FALSE(apps().load(spec));
    REQUIRE_FALSE(apps().start(name));
    auto top = info(name).supervisor;
    make_exit(worker_of(name), r.crashed ? crash() : caf::error{});
    REQUIRE(wait_down(top));
    REQUIRE(troupe::testkit::wait_until(
      [&] { return info(name).status == ts::app_status::loaded; }, 30s));
    CHECK(info(name).last_exit.find("exited") == 0);
    CHECK(logged_stop_node(name) == r.stops);
  }
  // The node is stopped once, however many applications exit.
  std::lock_guard<std::mutex> guard{mtx};
  REQUIRE(node_stops.size() == 1);
  CHECK(node_stops[0] == ts::errc::application_terminated);
  CHECK(troupe::runtime::describe(node_stops[0])
          .find("permanent application \"permanent-crash\" exited")
        == 0);
}

TEST_SUITE_END();

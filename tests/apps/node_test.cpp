// Tests of the node assembly in one process: applications and stop requests.
#include "troupe/apps/node.hpp"

#include "troupe/apps/console_client.hpp"

#include "tests/supervision/sup_fixture.hpp"
#include "troupe/runtime/errors.hpp"
#include "troupe/supervision/supervisor_client.hpp"
#include "troupe/testkit/node_process.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <caf/send.hpp>

namespace ts = troupe::supervision;
using namespace std::chrono_literals;
using troupe::test::journal;
using troupe::test::quit_atom;
using troupe::test::worker;

namespace {

struct node_fixture {
  troupe::testkit::temp_dir dir;
  std::shared_ptr<journal> j = std::make_shared<journal>();

  troupe::runtime::node_config config() {
    troupe::runtime::node_config cfg;
    cfg.name = "a1";
    cfg.listen = {.host = "127.0.0.1", .port = 0};
    cfg.data_dir = dir.path() / "a1";
    cfg.scheduler_threads = 2;
    return cfg;
  }

  ts::application_spec app(const std::string& name, ts::app_restart_type type,
                           std::vector<std::string> deps = {},
                           bool fail = false) {
    auto w = ts::server_child<worker>(name + ".w", name + ".w", j, fail);
    return {.name = name,
            .dependencies = std::move(deps),
            .restart = type,
            .flags = {.intensity = 0},
            .children = {w}};
  }

  caf::expected<std::unique_ptr<troupe::node>>
  start(std::vector<ts::application_spec> apps) {
    return troupe::node::start(config(), {.console_log = false,
                                          .seed = 7,
                                          .applications = std::move(apps)});
  }
};

} // namespace

TEST_SUITE_BEGIN("apps.node");

TEST_CASE_FIXTURE(node_fixture, "a node starts its applications after their "
                                "dependencies and stops them in reverse") {
  using ts::app_restart_type;
  {
    auto n = start({app("web", app_restart_type::permanent, {"db"}),
                    app("db", app_restart_type::permanent)});
    REQUIRE(n);
    auto list = (*n)->applications().which_applications();
    REQUIRE(list);
    REQUIRE(list->size() == 3); // the node's own "cluster" and ours
    for (const auto& a : *list) {
      CHECK(a.status == ts::app_status::running);
    }
    auto tree = ts::supervisor_client{(*n)->system(), (*n)->root()}.tree();
    REQUIRE(tree);
    REQUIRE(tree->size() == 3);
    CHECK((*tree)[0].id == "cluster");
    CHECK((*tree)[1].id == "db");
    CHECK((*tree)[2].id == "web");
    (*n)->stop("test over");
  }
  CHECK(j->snapshot()
        == std::vector<std::string>{"start:db.w", "start:web.w", "stop:web.w",
                                    "stop:db.w"});
}

TEST_CASE_FIXTURE(node_fixture, "a permanent application's exit asks the "
                                "node to stop, naming the application") {
  auto n = start({app("core", ts::app_restart_type::permanent),
                  app("extra", ts::app_restart_type::temporary)});
  REQUIRE(n);
  CHECK_FALSE((*n)->await_stop_request(std::chrono::steady_clock::now()));
  auto list = (*n)->applications().which_applications();
  REQUIRE(list);
  auto core = std::find_if(list->begin(), list->end(),
                           [](const auto& a) { return a.name == "core"; });
  REQUIRE(core != list->end());
  ts::supervisor_client top{(*n)->system(), core->supervisor};
  auto children = top.which_children();
  REQUIRE(children);
  caf::anon_send(caf::actor_cast<worker::interface>(children->at(0).handle),
                 quit_atom::value,
                 caf::make_error(caf::sec::runtime_error, "disk on fire"));
  auto request
    = (*n)->await_stop_request(std::chrono::steady_clock::now() + 30s);
  REQUIRE(request);
  CHECK(request->failure == ts::errc::application_terminated);
  CHECK(request->reason.find("permanent application \"core\" exited")
        != std::string::npos);
  (*n)->stop(request->reason);
  CHECK(j->snapshot().back() == "stop:extra.w");
}

TEST_CASE_FIXTURE(node_fixture, "an application that fails to start fails "
                                "the node's start and leaves nothing behind") {
  auto n
    = start({app("ok", ts::app_restart_type::permanent),
             app("broken", ts::app_restart_type::permanent, {"ok"}, true)});
  REQUIRE_FALSE(n);
  CHECK(troupe::runtime::describe(n.error()).find("refused to start")
        != std::string::npos);
  CHECK(j->snapshot() == std::vector<std::string>{"start:ok.w", "stop:ok.w"});
  // The data directory is free again: a node starts on it at once.
  auto again = start({});
  REQUIRE(again);
}

TEST_CASE_FIXTURE(node_fixture, "a stop request is answered once: the first "
                                "reason wins") {
  auto n = start({});
  REQUIRE(n);
  (*n)->request_stop({.reason = "operator"});
  (*n)->request_stop({.reason = "later"});
  auto request = (*n)->await_stop_request();
  REQUIRE(request);
  CHECK(request->reason == "operator");
  CHECK_FALSE(request->failure);
}

TEST_CASE_FIXTURE(node_fixture, "the console answers over its socket after "
                                "the cluster transport has been shut down, and "
                                "runs commands a service adds") {
  auto n = start({});
  REQUIRE(n);
  auto& node = **n;
  REQUIRE_FALSE(node.console().add(
    {.name = "greet",
     .usage = "<who>",
     .summary = "says hello",
     .destructive = false,
     .max_args = 1,
     .handler = [](const troupe::actors::console_call& call) {
       if (call.args.empty()) {
         return troupe::actors::console_reply::failure("usage: greet <who>");
       }
       return troupe::actors::console_reply::success("hello " + call.args[0]);
     }}));
  // The cluster application's own supervisor, then its transport.
  ts::supervisor_client root{node.system(), node.root()};
  auto apps = root.which_children();
  REQUIRE(apps);
  auto cluster_app
    = std::find_if(apps->begin(), apps->end(),
                   [](const auto& c) { return c.id == "cluster"; });
  REQUIRE(cluster_app != apps->end());
  ts::supervisor_client cluster{node.system(), cluster_app->handle};
  REQUIRE_FALSE(cluster.terminate_child("transport"));

  auto console = troupe::console_client::connect_unix(node.console_socket());
  REQUIRE(console);
  auto tree = console->call({"tree"}, true);
  REQUIRE(tree);
  REQUIRE(tree->ok);
  bool transport_stopped = false;
  for (const auto& app : tree->data["children"]) {
    for (const auto& c : app["children"]) {
      if (c["id"] == "transport") {
        transport_stopped = !c["running"].get<bool>();
      }
    }
  }
  CHECK(transport_stopped);
  for (std::vector<std::string> cmd : {std::vector<std::string>{"status"},
                                       {"members"},
                                       {"version"},
                                       {"log", "tail", "3"},
                                       {"metrics"},
                                       {"actors"}}) {
    CAPTURE(cmd);
    auto r = console->call(cmd);
    REQUIRE(r);
    CHECK(r->ok);
  }
  auto hello = console->call({"greet", "operator"});
  REQUIRE(hello);
  CHECK(hello->ok);
  CHECK(hello->text == "hello operator");
  auto usage = console->call({"greet"});
  REQUIRE(usage);
  CHECK_FALSE(usage->ok);
  // A registered local actor is found by name.
  auto names = node.names();
  caf::scoped_actor someone{node.system()};
  REQUIRE_FALSE(names->register_name("someone", caf::actor{someone}));
  auto sent = console->call({"send", "someone", "hi", "there"});
  REQUIRE(sent);
  CHECK(sent->ok);
  someone->receive([](const std::string& text) { CHECK(text == "hi there"); });
}

TEST_CASE_FIXTURE(node_fixture, "a node on a wildcard address is dialled at "
                                "the address it advertises") {
  // Listens on every interface; peers must dial 127.0.0.1 (its advertise
  // address, with the port the OS picked).
  auto wide = config();
  wide.listen = {.host = "0.0.0.0", .port = 0};
  wide.advertise = troupe::runtime::endpoint{.host = "127.0.0.1", .port = 0};
  auto a = troupe::node::start(wide, {.console_log = false, .seed = 7});
  REQUIRE(a);
  auto port = (*a)->listen_port();
  REQUIRE_NE(port, 0);
  CHECK_EQ((*a)->advertised(), "127.0.0.1:" + std::to_string(port));

  auto other = config();
  other.name = "b1";
  other.data_dir = dir.path() / "b1";
  other.join = {{.host = "127.0.0.1", .port = port}};
  auto b = troupe::node::start(other, {.console_log = false, .seed = 8});
  REQUIRE(b);
  auto seen = [&] {
    auto views = (*b)->cluster().members();
    if (!views) {
      return false;
    }
    for (const auto& v : *views) {
      if (v.info.name == (*a)->config().full_name()) {
        return v.info.address.host == "127.0.0.1" && v.info.address.port == port
               && v.info.status == troupe::cluster::member_status::up;
      }
    }
    return false;
  };
  CHECK(troupe::testkit::wait_until(seen, 20s));
  (*b)->stop("test");
  (*a)->stop("test");
}

TEST_SUITE_END();

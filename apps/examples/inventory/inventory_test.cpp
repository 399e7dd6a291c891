// The inventory example's tests, on the installed Troupe test kit.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "inventory.hpp"

#include <troupe/runtime/errors.hpp>
#include <troupe/testkit/node_process.hpp>
#include <troupe/testkit/sim_world.hpp>

#include <cstdlib>
#include <fstream>
#include <set>

#include <doctest/doctest.h>
#include <sys/wait.h>

using namespace std::chrono_literals;
namespace rt = troupe::runtime;
namespace sim = troupe::testkit::sim;

namespace {

rt::config_input input_with(std::map<std::string, std::vector<std::string>> f) {
  rt::config_input in;
  in.flags = std::move(f);
  in.custom = inventory::settings();
  return in;
}

sim::world::options world_options(std::size_t nodes) {
  return {.nodes = nodes,
          .seed = sim::seed_from_env(11),
          .kinds =
            [](std::size_t i) {
              return std::vector{
                inventory::stock_kind({.initial_stock = 20,
                                       .max_per_order = 5,
                                       .node_name = "n" + std::to_string(i)})};
            },
          .configure = inventory::add_message_types};
}

int exit_code(std::optional<int> status) {
  REQUIRE(status);
  REQUIRE(WIFEXITED(*status));
  return WEXITSTATUS(*status);
}

std::filesystem::path node_binary() {
  const char* path = std::getenv("INVENTORY_NODE_BIN");
  REQUIRE_MESSAGE(path != nullptr, "INVENTORY_NODE_BIN is not set");
  return path;
}

} // namespace

TEST_CASE("the service's settings have defaults, layers and clear errors") {
  auto cfg = rt::load_config(input_with({}));
  REQUIRE(cfg);
  CHECK_EQ(inventory::options_from(*cfg).max_per_order, 10);

  auto set = rt::load_config(input_with({{"inventory.max_per_order", {"3"}}}));
  REQUIRE(set);
  CHECK_EQ(inventory::options_from(*set).max_per_order, 3);

  auto bad = rt::load_config(input_with({{"inventory.max_per_order", {"0"}}}));
  REQUIRE_FALSE(bad);
  CHECK_EQ(rt::describe(bad.error()),
           "config: inventory.max_per_order = \"0\" (from flag "
           "--max-per-order): expected a whole number from 1 to 1000");

  troupe::testkit::temp_dir dir;
  auto file = dir.path() / "node.toml";
  std::ofstream{file} << "[inventory]\ninitial_stock = 7\ncolour = \"red\"\n";
  auto in = input_with({});
  in.file = file;
  auto unknown = rt::load_config(in);
  REQUIRE_FALSE(unknown);
  CHECK_NE(rt::describe(unknown.error()).find("unknown key inventory.colour"),
           std::string::npos);

  in.environment["TROUPE_INVENTORY_INITIAL_STOCK"] = "9";
  std::ofstream{file} << "[inventory]\ninitial_stock = 7\n";
  auto layered = rt::load_config(in);
  REQUIRE(layered);
  CHECK_EQ(inventory::options_from(*layered).initial_stock, 9);
}

TEST_CASE("reservations cross nodes and stock moves with a leave") {
  sim::world w{world_options(3)};
  REQUIRE_FALSE(w.start_all());
  REQUIRE(w.run_until([&] { return w.converged() && w.ring_settled(); }, 60s));
  std::set<std::string> answered_by;
  for (int i = 0; i < 12; ++i) {
    auto item = "item" + std::to_string(i);
    auto l = w.request<inventory::stock_level>(
      0, "stock/" + item, 5s, inventory::reservation{"ada", 2});
    REQUIRE_MESSAGE(l, item);
    CHECK_EQ(l->item, item);
    CHECK_EQ(l->available, 18);
    answered_by.insert(l->node);
  }
  // A user type crossed nodes both ways: other nodes answered node 0.
  CHECK_GT(answered_by.size(), 1);

  auto too_many = w.request<inventory::stock_level>(
    1, "stock/item0", 5s, inventory::reservation{"bob", 6});
  REQUIRE_FALSE(too_many);
  CHECK_NE(rt::describe(too_many.error()).find("1 to 5 items"),
           std::string::npos);

  // Node 2 leaves: its stock is handed to the others before it is removed.
  REQUIRE_FALSE(w.leave(2));
  // (Removed, or removed and already forgotten once both have seen it.)
  auto gone = [&w](std::size_t i) {
    return w.sees(i, 2, "removed") || w.sees(i, 2, "unknown");
  };
  REQUIRE(w.run_until([&] { return gone(0) && gone(1); }, 60s));
  w.stop(2);
  REQUIRE(w.run_until([&] { return w.converged() && w.ring_settled(); }, 60s));
  for (int i = 0; i < 12; ++i) {
    auto item = "item" + std::to_string(i);
    auto l = w.request<inventory::stock_level>(0, "stock/" + item, 5s,
                                               inventory::level_atom::value);
    REQUIRE_MESSAGE(l, item);
    CHECK_EQ(l->available, 18);
    CHECK_EQ(l->reserved, 2);
    CHECK_NE(l->node, "n2");
  }
}

TEST_CASE("inventory-node --help shows its settings beside Troupe's") {
  troupe::testkit::temp_dir dir;
  troupe::testkit::node_process help{
    {.binary = node_binary(), .args = {"--help"}, .work_dir = dir.path()}};
  CHECK_EQ(exit_code(help.wait_exit(30s)), 0);
  auto out = help.stdout_text();
  CHECK_NE(out.find("TROUPE_NODE_LISTEN"), std::string::npos);
  CHECK_NE(out.find("inventory.max_per_order"), std::string::npos);
  CHECK_NE(out.find("TROUPE_INVENTORY_MAX_PER_ORDER"), std::string::npos);

  troupe::testkit::node_process bad{{.binary = node_binary(),
                                     .args = {"--max-per-order", "5000"},
                                     .work_dir = dir.path()}};
  CHECK_EQ(exit_code(bad.wait_exit(30s)), 2);
  CHECK_NE(bad.stderr_text().find("inventory.max_per_order = \"5000\""),
           std::string::npos);
}

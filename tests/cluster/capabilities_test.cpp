// Tests of capability negotiation: what every active member states.
#include "troupe/cluster/capabilities.hpp"

#include "troupe/runtime/errors.hpp"

#include <doctest/doctest.h>

namespace tc = troupe::cluster;
using tc::member_status;

namespace {

tc::member with(const std::string& name, member_status status,
                std::set<std::string> caps) {
  return {.node_id = std::string(32, name.front()),
          .name = name,
          .address = {.host = "127.0.0.1", .port = 4000},
          .incarnation = 1,
          .status = status,
          .capabilities = std::move(caps)};
}

} // namespace

TEST_SUITE_BEGIN("cluster.capabilities");

TEST_CASE("the cluster uses what every active member states") {
  std::vector<tc::member> ms{
    with("a", member_status::up, {"troupe.capabilities", "x", "y"}),
    with("b", member_status::joining, {"troupe.capabilities", "x"}),
    with("c", member_status::leaving, {"troupe.capabilities", "x", "y"}),
  };
  CHECK_EQ(tc::negotiated_capabilities(ms),
           std::set<std::string>{"troupe.capabilities", "x"});
  auto missing = tc::missing_capabilities(ms);
  REQUIRE_EQ(missing.size(), 1);
  CHECK_EQ(missing[0].first, "b");
  CHECK_EQ(missing[0].second, std::set<std::string>{"y"});

  // Members that are down or gone do not hold the cluster back.
  ms[1].status = member_status::down;
  CHECK_EQ(tc::negotiated_capabilities(ms),
           std::set<std::string>{"troupe.capabilities", "x", "y"});
  ms[1].status = member_status::removed;
  CHECK(tc::missing_capabilities(ms).empty());

  // A node older than capabilities states none: nothing is in use.
  ms.push_back(with("d", member_status::up, {}));
  CHECK(tc::negotiated_capabilities(ms).empty());
  CHECK(tc::negotiated_capabilities({}).empty());
}

TEST_CASE("this build states capability negotiation and its software") {
  CHECK(tc::troupe_capabilities().count(std::string{tc::capability_negotiation})
        == 1);
  CHECK_FALSE(tc::this_software().empty());
}

TEST_CASE("a program's capabilities are checked so that a hello stays small") {
  CHECK_FALSE(tc::check_capabilities({"inventory.v2", "a_b-c.9"}));
  auto bad = tc::check_capabilities({"Upper"});
  REQUIRE(bad);
  CHECK_EQ(troupe::runtime::describe(bad),
           "capability \"Upper\": expected 1 to 64 bytes of a-z, 0-9, '.', "
           "'_' or '-'");
  CHECK(tc::check_capabilities({std::string(65, 'a')}));
  CHECK(tc::check_capabilities({""}));
  std::set<std::string> many;
  for (int i = 0; i < 33; ++i) {
    many.insert("c" + std::to_string(i));
  }
  CHECK_EQ(troupe::runtime::describe(tc::check_capabilities(many)),
           "33 capabilities (at most 32)");
}

TEST_SUITE_END();

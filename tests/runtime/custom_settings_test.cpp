// Tests of a program's own settings: declared, layered and checked like
// Troupe's.
#include "troupe/runtime/custom_settings.hpp"

#include "tests/runtime/config_checks.hpp"

#include "troupe/runtime/config.hpp"
#include "troupe/runtime/errors.hpp"
#include "troupe/testkit/node_process.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <stdexcept>

namespace rt = troupe::runtime;
using namespace std::chrono_literals;
using troupe::test::load_error;

namespace {

std::vector<rt::custom_setting> shop_settings() {
  auto tags = rt::text_setting("shop.tags", "a", "labels");
  tags.is_list = true;
  tags.valid = nullptr;
  tags.default_values = {"new", "sale"};
  return {
    rt::text_setting("shop.greeting", "hello", "what the shop says",
                     "--greeting", 16),
    rt::integer_setting("shop.shelves", 4, 1, 64, "shelves", "--shelves"),
    rt::duration_setting("shop.restock_every", 30s, "restock period"),
    rt::switch_setting("shop.open", "open for business", "--open"),
    tags,
  };
}

rt::config_input shop_input() {
  rt::config_input in;
  in.custom = shop_settings();
  return in;
}

} // namespace

TEST_SUITE_BEGIN("runtime.custom_settings");

TEST_CASE("a program's settings have their defaults when nothing sets them") {
  auto cfg = rt::load_config(shop_input());
  REQUIRE(cfg);
  CHECK_EQ(cfg->custom.text("shop.greeting"), "hello");
  CHECK_EQ(cfg->custom.integer("shop.shelves"), 4);
  CHECK_EQ(cfg->custom.duration("shop.restock_every"), 30s);
  CHECK_FALSE(cfg->custom.boolean("shop.open"));
  CHECK_EQ(cfg->custom.list("shop.tags"),
           std::vector<std::string>{"new", "sale"});
  CHECK_THROWS_AS(cfg->custom.text("shop.owner"), std::out_of_range);
}

TEST_CASE("flags beat the environment, which beats the file, as for Troupe") {
  troupe::testkit::temp_dir dir;
  auto path = dir.path() / "node.toml";
  std::ofstream{path} << "[node]\nname = \"s1\"\n[shop]\ngreeting = \"file\"\n"
                         "shelves = 8\nopen = true\ntags = [\"x\", \"y\"]\n";
  auto in = shop_input();
  in.file = path;
  auto cfg = rt::load_config(in);
  REQUIRE(cfg);
  CHECK_EQ(cfg->name, "s1");
  CHECK_EQ(cfg->custom.text("shop.greeting"), "file");
  CHECK_EQ(cfg->custom.integer("shop.shelves"), 8);
  CHECK(cfg->custom.boolean("shop.open"));
  CHECK_EQ(cfg->custom.list("shop.tags"), std::vector<std::string>{"x", "y"});

  in.environment["TROUPE_SHOP_GREETING"] = "env";
  in.environment["TROUPE_SHOP_TAGS"] = "p,q,r";
  cfg = rt::load_config(in);
  REQUIRE(cfg);
  CHECK_EQ(cfg->custom.text("shop.greeting"), "env");
  CHECK_EQ(cfg->custom.list("shop.tags"),
           std::vector<std::string>{"p", "q", "r"});

  in.flags["shop.greeting"] = {"flag"};
  cfg = rt::load_config(in);
  REQUIRE(cfg);
  CHECK_EQ(cfg->custom.text("shop.greeting"), "flag");
}

TEST_CASE("a bad value names the key, the value, its origin and what was "
          "expected") {
  auto in = shop_input();
  in.flags["shop.shelves"] = {"65"};
  CHECK_EQ(load_error(in), "config: shop.shelves = \"65\" (from flag "
                           "--shelves): expected a whole number from 1 to 64");

  in = shop_input();
  in.environment["TROUPE_SHOP_RESTOCK_EVERY"] = "soon";
  CHECK_EQ(load_error(in),
           "config: shop.restock_every = \"soon\" (from environment "
           "TROUPE_SHOP_RESTOCK_EVERY): expected a duration such as 500ms, "
           "10s, 5m or 1h");

  in = shop_input();
  in.flags["shop.greeting"] = {"a greeting far too long"};
  CHECK_EQ(load_error(in), "config: shop.greeting = \"a greeting far too "
                           "long\" (from flag --greeting): expected a text "
                           "of 1 to 16 bytes");

  in = shop_input();
  in.environment["TROUPE_SHOP_COLOUR"] = "red";
  CHECK_EQ(load_error(in), "config: unknown environment variable "
                           "TROUPE_SHOP_COLOUR=red: expected one of the "
                           "TROUPE_* variables listed by --help");

  troupe::testkit::temp_dir dir;
  auto path = dir.path() / "node.toml";
  std::ofstream{path} << "[shop]\ncolour = \"red\"\n";
  in = shop_input();
  in.file = path;
  auto text = load_error(in);
  CHECK(text.find("unknown key shop.colour") != std::string::npos);

  std::ofstream{path} << "[shop]\nshelves = [1, 2]\n";
  text = load_error(in);
  CHECK(text.find("shop.shelves = an array") != std::string::npos);
}

TEST_CASE("without the program's declarations, its section is unknown") {
  rt::config_input in;
  in.environment["TROUPE_SHOP_GREETING"] = "hi"; // not a section Troupe knows
  CHECK(rt::load_config(in));
  in.flags["shop.greeting"] = {"hi"};
  CHECK_EQ(load_error(in), "config: unknown key shop.greeting");
}

TEST_CASE("bad declarations are refused with the setting named") {
  auto check = [](rt::custom_setting s, const std::string& why) {
    auto in = shop_input();
    in.custom.push_back(std::move(s));
    auto text = load_error(in);
    CAPTURE(text);
    CHECK(text.find(why) != std::string::npos);
  };
  check(rt::integer_setting("cluster.extra", 1, 0, 2, ""),
        "the section [cluster] is Troupe's own");
  check(rt::integer_setting("Shop.x", 1, 0, 2, ""), "section.name");
  check(rt::integer_setting("shop", 1, 0, 2, ""), "section.name");
  check(rt::integer_setting("shop.shelves", 1, 0, 2, ""), "declared twice");
  check(rt::integer_setting("shop.x", 1, 0, 2, "", "--shelves"), "used once");
  check(rt::integer_setting("shop.y", 1, 0, 2, "", "-y"), "used once");
  check(rt::integer_setting("shop.z", 5, 0, 2, ""),
        "its default fails its own check");
}

TEST_SUITE_END();

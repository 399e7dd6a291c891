// Tests of configuration layering and validation.
#include "troupe/runtime/config.hpp"

#include "tests/runtime/config_checks.hpp"

#include "troupe/runtime/errors.hpp"
#include "troupe/testkit/node_process.hpp"

#include <doctest/doctest.h>

#include <fstream>

namespace rt = troupe::runtime;
using troupe::test::contains;
using troupe::test::load_error;
using troupe::test::write_toml;

TEST_SUITE_BEGIN("runtime.config");

TEST_CASE("with no input the embedded defaults apply") {
  auto cfg = rt::load_config({});
  REQUIRE(cfg);
  CHECK_EQ(cfg->full_name(), "n1@127.0.0.1");
  CHECK_EQ(rt::to_string(cfg->listen), "127.0.0.1:4370");
  CHECK_EQ(cfg->data_dir, std::filesystem::path{"data/n1"});
  CHECK_EQ(cfg->level, rt::log_level::info);
  CHECK(cfg->join.empty());
  CHECK_EQ(cfg->policy, rt::scheduler_policy::stealing);
}

TEST_CASE("the scheduler policy can be set to work sharing") {
  rt::config_input input;
  input.environment["TROUPE_SCHEDULER_POLICY"] = "sharing";
  auto cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->policy, rt::scheduler_policy::sharing);
}

TEST_CASE("the split-brain strategy is keep_majority unless set") {
  using strategy = rt::split_brain_policy::strategy;
  auto cfg = rt::load_config({});
  REQUIRE(cfg);
  CHECK(cfg->cluster.split_brain.kind == strategy::keep_majority);
  for (const auto& [text, want] :
       std::vector<std::pair<std::string, rt::split_brain_policy>>{
         {"keep_majority", {.kind = strategy::keep_majority}},
         {"keep_oldest", {.kind = strategy::keep_oldest}},
         {"serve_all", {.kind = strategy::serve_all}},
         {"static_quorum:3",
          {.kind = strategy::static_quorum, .quorum_size = 3}},
       }) {
    rt::config_input input;
    input.environment["TROUPE_CLUSTER_SPLIT_BRAIN"] = text;
    auto got = rt::load_config(input);
    REQUIRE(got);
    CHECK(got->cluster.split_brain == want);
    CHECK(rt::to_string(got->cluster.split_brain) == text);
  }
}

TEST_CASE("transport security is encrypt unless set") {
  auto cfg = rt::load_config({});
  REQUIRE(cfg);
  CHECK(cfg->cluster.security == rt::transport_security::encrypt);
  for (auto want :
       {rt::transport_security::encrypt, rt::transport_security::authenticate,
        rt::transport_security::upgrade, rt::transport_security::none}) {
    rt::config_input input;
    input.environment["TROUPE_CLUSTER_TRANSPORT_SECURITY"]
      = rt::to_string(want);
    auto got = rt::load_config(input);
    REQUIRE(got);
    CHECK(got->cluster.security == want);
  }
}

TEST_CASE("flags beat the environment, which beats the file") {
  troupe::testkit::temp_dir dir;
  rt::config_input input;
  input.file = write_toml(dir, "[node]\nname = \"from_file@h1\"\n"
                               "listen = \"127.0.0.1:5000\"\n"
                               "[log]\nlevel = \"debug\"\n");
  input.environment["TROUPE_NODE_NAME"] = "from_env";
  input.flags["node.name"] = {"from_flag@h3"};
  auto cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->full_name(), "from_flag@h3");
  CHECK_EQ(cfg->listen.port, 5000); // only the file set it
  CHECK_EQ(cfg->level, rt::log_level::debug);
  input.flags.clear();
  cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->name, "from_env");
  CHECK_EQ(cfg->host, "127.0.0.1"); // name without host keeps the default
  input.environment.clear();
  cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->full_name(), "from_file@h1");
}

TEST_CASE("TROUPE_CONFIG names the file unless a file is given directly") {
  troupe::testkit::temp_dir dir;
  auto path = write_toml(dir, "[node]\nname = \"via_env_file\"\n");
  rt::config_input input;
  input.environment["TROUPE_CONFIG"] = path.string();
  auto cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->name, "via_env_file");
  input.file = dir.path() / "missing.toml";
  auto text = load_error(input);
  CHECK(contains(text, "missing.toml"));
}

TEST_CASE("the data directory follows the node name unless set") {
  rt::config_input input;
  input.flags["node.name"] = {"alpha"};
  auto cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->data_dir, std::filesystem::path{"data/alpha"});
  input.flags["node.data_dir"] = {"/var/lib/x"};
  cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->data_dir, std::filesystem::path{"/var/lib/x"});
}

TEST_CASE("lists come from TOML arrays, repeated flags and comma lists") {
  troupe::testkit::temp_dir dir;
  rt::config_input input;
  input.file = write_toml(dir, "[cluster]\njoin = [\"a:1\", \"b:2\"]\n");
  auto cfg = rt::load_config(input);
  REQUIRE(cfg);
  REQUIRE_EQ(cfg->join.size(), 2u);
  CHECK_EQ(cfg->join[1], rt::endpoint{.host = "b", .port = 2});
  input.environment["TROUPE_CLUSTER_JOIN"] = "c:3,d:4,e:5";
  cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->join.size(), 3u);
  input.flags["cluster.join"] = {"f:6", "g:7"};
  cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_EQ(cfg->join.size(), 2u);
  CHECK_EQ(cfg->join[0].host, "f");
}

TEST_CASE("every bad value is named with its key, value, origin and "
          "expectation") {
  struct bad_case {
    std::string key;
    std::string value;
    std::string expectation;
  };
  std::vector<bad_case> cases{
    {"node.name", "has space", "node name"},
    {"node.name", "", "node name"},
    {"node.name", "n1@", "node name"},
    {"node.name", std::string(65, 'x'), "node name"},
    {"node.listen", "127.0.0.1", "host:port"},
    {"node.listen", "127.0.0.1:70000", "host:port"},
    {"node.listen", "::1:4370", "host:port"},
    {"node.listen", "127.0.0.1:-1", "host:port"},
    {"node.data_dir", "", "directory"},
    {"log.level", "verbose", "one of trace"},
    {"log.max_file_bytes", "100", "4096"},
    {"log.max_file_bytes", "ten", "4096"},
    {"log.max_files", "0", "1 to 1000"},
    {"cluster.join", "host", "seed addresses"},
    {"cluster.join", "host:0", "seed addresses"},
    {"scheduler.threads", "1000", "0 (CAF's default) to 256"},
    {"scheduler.policy", "fair", "stealing or sharing"},
    {"cluster.split_brain", "majority", "keep_majority, static_quorum:<n>"},
    {"cluster.split_brain", "static_quorum:0", "n from 1 to 1000"},
    {"cluster.split_brain", "static_quorum:", "n from 1 to 1000"},
    {"cluster.split_brain", "static_quorum:1001", "n from 1 to 1000"},
    {"cluster.transport_security", "tls", "encrypt, authenticate, upgrade"},
    {"cluster.transport_security", "", "encrypt, authenticate, upgrade"},
    {"console.tcp", "on", "or off"},
    {"console.tcp", "127.0.0.1:99999", "or off"},
    {"http.listen", "", "or off"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.key);
    CAPTURE(c.value);
    rt::config_input input;
    input.flags[c.key] = {c.value};
    auto text = load_error(input);
    CHECK(contains(text, c.key));
    CHECK(contains(text, "\"" + c.value + "\""));
    CHECK(contains(text, "expected"));
    CHECK(contains(text, c.expectation));
  }
}

TEST_CASE("the console's TCP listener and HTTP are off unless set; a port "
          "alone means loopback") {
  auto defaults = rt::load_config({});
  REQUIRE(defaults);
  CHECK_FALSE(defaults->observe.console_tcp);
  CHECK_FALSE(defaults->observe.http);
  rt::config_input input;
  input.flags["console.tcp"] = {"4380"};
  input.environment["TROUPE_HTTP_LISTEN"] = "0.0.0.0:9100";
  auto cfg = rt::load_config(input);
  REQUIRE(cfg);
  REQUIRE(cfg->observe.console_tcp);
  CHECK_EQ(rt::to_string(*cfg->observe.console_tcp), "127.0.0.1:4380");
  REQUIRE(cfg->observe.http);
  CHECK_EQ(rt::to_string(*cfg->observe.http), "0.0.0.0:9100");
  input.flags["http.listen"] = {"off"};
  cfg = rt::load_config(input);
  REQUIRE(cfg);
  CHECK_FALSE(cfg->observe.http);
}

TEST_CASE("an error names the environment variable a bad value came from") {
  rt::config_input input;
  input.environment["TROUPE_LOG_LEVEL"] = "loud";
  auto text = load_error(input);
  CHECK(contains(text, "log.level"));
  CHECK(contains(text, "TROUPE_LOG_LEVEL"));
  CHECK(contains(text, "\"loud\""));
}

TEST_CASE("an unknown TROUPE_ variable of a known section is refused") {
  rt::config_input input;
  input.environment["TROUPE_NODE_NAEM"] = "x";
  CHECK(contains(load_error(input), "TROUPE_NODE_NAEM"));
  input.environment.clear();
  input.environment["TROUPE_TEST_SEED"] = "7"; // not a config section
  CHECK(rt::load_config(input));
}

TEST_CASE("bad files are refused with the file, key or position named") {
  troupe::testkit::temp_dir dir;
  rt::config_input input;
  SUBCASE("syntax error") {
    input.file = write_toml(dir, "[node\nname = 1\n");
    auto cfg = rt::load_config(input);
    REQUIRE_FALSE(cfg);
    CHECK_EQ(cfg.error(), rt::errc::config_file_unreadable);
    CHECK(contains(rt::describe(cfg.error()), "line 1"));
  }
  SUBCASE("unknown key") {
    input.file = write_toml(dir, "[node]\nnmae = \"x\"\n");
    CHECK(contains(load_error(input), "node.nmae"));
  }
  SUBCASE("a value outside any table") {
    input.file = write_toml(dir, "name = \"x\"\n");
    CHECK(contains(load_error(input), "expected a table"));
  }
  SUBCASE("an array where one value is expected") {
    input.file = write_toml(dir, "[node]\nlisten = [\"a:1\"]\n");
    CHECK(contains(load_error(input), "node.listen"));
  }
  SUBCASE("a float where a whole number is expected") {
    input.file = write_toml(dir, "[log]\nmax_files = 2.5\n");
    auto text = load_error(input);
    CHECK(contains(text, "log.max_files"));
    CHECK(contains(text, "2.5"));
  }
  SUBCASE("a date where a duration is expected") {
    input.file = write_toml(dir, "[cluster]\ndown_after = 1979-05-27\n");
    CHECK(contains(load_error(input), "a date"));
  }
  SUBCASE("a valid file value that fails validation") {
    input.file = write_toml(dir, "[log]\nmax_files = 0\n");
    auto text = load_error(input);
    CHECK(contains(text, "log.max_files"));
    CHECK(contains(text, "node.toml"));
  }
}

TEST_CASE("durations take ms, s, m and h") {
  using namespace std::chrono;
  CHECK_EQ(*rt::parse_duration("250ms"), milliseconds{250});
  CHECK_EQ(*rt::parse_duration("10s"), seconds{10});
  CHECK_EQ(*rt::parse_duration("2m"), minutes{2});
  CHECK_EQ(*rt::parse_duration("1h"), hours{1});
  for (auto bad : {"", "10", "s", "1.5s", "-1s", "10 s", "5d"}) {
    CAPTURE(bad);
    CHECK_FALSE(rt::parse_duration(bad));
  }
}

TEST_CASE("endpoints accept names, IPv4 and bracketed IPv6") {
  CHECK_EQ(*rt::parse_endpoint("localhost:80"),
           rt::endpoint{.host = "localhost", .port = 80});
  CHECK_EQ(*rt::parse_endpoint("[::1]:4370"),
           rt::endpoint{.host = "::1", .port = 4370});
  CHECK_EQ(rt::to_string(*rt::parse_endpoint("[::1]:4370")), "[::1]:4370");
  for (auto bad : {"", ":80", "host:", "host:port", "[::1]4370", "a b:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(rt::parse_endpoint(bad));
  }
}

TEST_CASE("the advertised address is advertise, else listen with a wildcard "
          "host replaced by the node name's host") {
  rt::config_input in;
  in.flags["node.name"] = {"n4@10.1.2.3"};
  in.flags["node.listen"] = {"0.0.0.0:4371"};
  auto cfg = rt::load_config(in);
  REQUIRE(cfg);
  CHECK_EQ(rt::to_string(cfg->advertised()), "10.1.2.3:4371");

  in.flags["node.advertise"] = {"gw.example:0"};
  cfg = rt::load_config(in);
  REQUIRE(cfg);
  CHECK_EQ(rt::to_string(cfg->advertised()), "gw.example:4371");

  in.environment["TROUPE_NODE_ADVERTISE"] = "192.0.2.7:5000";
  in.flags.erase("node.advertise");
  cfg = rt::load_config(in);
  REQUIRE(cfg);
  CHECK_EQ(rt::to_string(cfg->advertised()), "192.0.2.7:5000");

  in.flags["node.advertise"] = {"0.0.0.0:4371"};
  auto text = load_error(in);
  CHECK(contains(text, "node.advertise = \"0.0.0.0:4371\" (from flag "
                       "--advertise): expected host:port that other nodes "
                       "can dial"));

  CHECK_EQ(rt::to_string(rt::load_config({})->advertised()), "127.0.0.1:4370");
}

TEST_SUITE_END();

// Process tests of clustering: troupe-node processes join, one is killed,
// the others notice, and it comes back from its data directory.
#include "troupe/testkit/node_process.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include <sys/wait.h>

namespace tk = troupe::testkit;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 30s;

struct cluster_fixture {
  tk::temp_dir dir;
  std::map<std::string, std::string> env = tk::fast_cluster_env();

  std::filesystem::path data_dir(const std::string& name) const {
    return dir.path() / "data" / name;
  }

  std::string log_of(const std::string& name) const {
    return tk::read_text(data_dir(name) / "log" / "node.log");
  }

  bool logged(const std::string& name, const std::string& needle) const {
    return log_of(name).find(needle) != std::string::npos;
  }

  std::unique_ptr<tk::node_process> start(const std::string& name,
                                          std::vector<std::string> extra) {
    std::vector<std::string> args{"--name",     name + "@127.0.0.1",
                                  "--data-dir", data_dir(name).string(),
                                  "--listen",   "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<tk::node_process>(tk::node_process::options{
      .binary = tk::troupe_node_binary(),
      .args = std::move(args),
      .env = env,
      .work_dir = dir.path(),
    });
  }

  // The membership events a node logged, for failure messages.
  std::string events_of(const std::string& name) const {
    std::string out;
    std::istringstream in{log_of(name)};
    for (std::string line; std::getline(in, line);) {
      if (line.find("event=member.") != std::string::npos
          || line.find("event=peer.") != std::string::npos) {
        out += line + "\n";
      }
    }
    return out;
  }

  // The port a node logged at start.
  std::string port_of(const std::string& name) const {
    return tk::started_port(data_dir(name) / "log" / "node.log", "127.0.0.1",
                            deadline);
  }
};

} // namespace

TEST_SUITE_BEGIN("apps.cluster_process");

TEST_CASE("three processes join; one killed is seen unreachable, then down, "
          "and restarted from its data directory it rejoins") {
  cluster_fixture f;
  auto a = f.start("a", {});
  auto seed = "127.0.0.1:" + f.port_of("a");
  REQUIRE(seed != "127.0.0.1:");
  auto b = f.start("b", {"--join", seed});
  auto c = f.start("c", {"--join", seed});
  for (const auto* name : {"a", "b", "c"}) {
    CAPTURE(name);
    for (const auto* other : {"a", "b", "c"}) {
      CHECK(tk::wait_until(
        [&] {
          return f.logged(name, fmt::format("event=member.up node={}@", other));
        },
        deadline));
    }
  }
  c->signal(SIGKILL);
  c->wait_exit(deadline);
  for (const auto* name : {"a", "b"}) {
    CAPTURE(name);
    CHECK(tk::wait_until(
      [&] { return f.logged(name, "event=member.unreachable node=c@"); },
      deadline));
    // Down, then removed a round later; a node that merges both rounds at
    // once sees only the removal.
    CHECK(tk::wait_until(
      [&] {
        return f.logged(name, "event=member.down node=c@")
               || f.logged(name, "event=member.removed node=c@");
      },
      deadline));
  }
  // No --join: the persisted state says whom to call.
  c = f.start("c", {});
  for (const auto* name : {"a", "b"}) {
    CAPTURE(name);
    auto rejoined = tk::wait_until(
      [&] {
        return f.logged(name, "event=member.up node=c@127.0.0.1 "
                              "incarnation=2");
      },
      deadline);
    CHECK_MESSAGE(rejoined, f.events_of(name) << "--- c:\n"
                                              << f.events_of("c"));
  }
  for (auto* p : {a.get(), b.get(), c.get()}) {
    p->signal(SIGTERM);
    auto status = p->wait_exit(deadline);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
  }
}

TEST_CASE("a corrupt cluster state file is set aside and the node starts as "
          "a fresh member") {
  cluster_fixture f;
  std::filesystem::create_directories(f.data_dir("a"));
  {
    std::ofstream out{f.data_dir("a") / "cluster.state"};
    out << "this is not a cluster state";
  }
  auto a = f.start("a", {"--run-for", "2s"});
  auto status = a->wait_exit(deadline);
  REQUIRE(status);
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(f.logged("a", "event=state.corrupt"));
  CHECK(f.logged("a", "action=fresh_member"));
  CHECK(std::filesystem::exists(f.data_dir("a") / "cluster.state.corrupt-1"));
  CHECK(std::filesystem::exists(f.data_dir("a") / "cluster.state"));
}

TEST_SUITE_END();

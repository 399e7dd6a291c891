// Process tests: troupe-node started, signalled and checked from outside.
#include "troupe/testkit/node_process.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tk = troupe::testkit;
using namespace std::chrono_literals;

namespace {

constexpr auto start_deadline = 30s;
constexpr auto stop_deadline = 30s;

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// A node process in its own temporary directory, on a free port.
struct node_fixture {
  tk::temp_dir dir;

  std::filesystem::path data_dir() const {
    return dir.path() / "data";
  }

  std::string log_text() const {
    return tk::read_text(data_dir() / "log" / "node.log");
  }

  std::unique_ptr<tk::node_process>
  start(std::vector<std::string> extra = {},
        std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args{"--name", "t1@127.0.0.1", "--data-dir",
                                  data_dir().string()};
    // A free port unless the test sets the address itself.
    if (std::find(extra.begin(), extra.end(), "--listen") == extra.end()
        && std::find(extra.begin(), extra.end(), "--config") == extra.end()) {
      args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<tk::node_process>(tk::node_process::options{
      .binary = tk::troupe_node_binary(),
      .args = std::move(args),
      .env = std::move(env),
      .work_dir = dir.path(),
    });
  }

  bool wait_started() {
    return tk::wait_until(
      [this] { return contains(log_text(), "event=node.start "); },
      start_deadline);
  }
};

int exit_code(std::optional<int> status) {
  REQUIRE(status);
  REQUIRE(WIFEXITED(*status));
  return WEXITSTATUS(*status);
}

} // namespace

TEST_SUITE_BEGIN("apps.troupe_node");

TEST_CASE("SIGTERM and SIGINT stop the node in order with exit status 0") {
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    node_fixture f;
    auto proc = f.start();
    REQUIRE(f.wait_started());
    proc->signal(sig);
    CHECK_EQ(exit_code(proc->wait_exit(stop_deadline)), 0);
    auto log = f.log_text();
    auto name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
    auto stop_at = log.find(std::string{"event=node.stop reason=\""} + name);
    auto tree_at = log.find("event=sup.stopped supervisor=root");
    auto stopped_at = log.find("event=node.stopped");
    CHECK_NE(stop_at, std::string::npos);
    CHECK_NE(tree_at, std::string::npos);
    CHECK_NE(stopped_at, std::string::npos);
    CHECK_LT(stop_at, tree_at);
    CHECK_LT(tree_at, stopped_at);
  }
}

TEST_CASE("the node logs its version and build info at boot") {
  node_fixture f;
  auto proc = f.start({"--run-for", "100ms"});
  CHECK_EQ(exit_code(proc->wait_exit(stop_deadline)), 0);
  auto log = f.log_text();
  CHECK(contains(log, "event=node.boot name=t1@127.0.0.1 version="));
  CHECK(contains(log, "caf=0.17.6"));
  CHECK(contains(log, "event=node.stop reason=\"run-for 100ms elapsed\""));
}

TEST_CASE("the node id survives two boots while the incarnation grows") {
  node_fixture f;
  auto identity = [&f] {
    return tk::read_text(f.data_dir() / "node.identity");
  };
  auto value = [](const std::string& text, const std::string& key) {
    auto at = text.find(key + "=");
    REQUIRE_NE(at, std::string::npos);
    return text.substr(at + key.size() + 1,
                       text.find('\n', at) - at - key.size() - 1);
  };
  CHECK_EQ(exit_code(f.start({"--run-for", "10ms"})->wait_exit(stop_deadline)),
           0);
  auto first = identity();
  CHECK_EQ(exit_code(f.start({"--run-for", "10ms"})->wait_exit(stop_deadline)),
           0);
  auto second = identity();
  CHECK_EQ(value(first, "node_id"), value(second, "node_id"));
  CHECK_EQ(value(first, "incarnation"), "1");
  CHECK_EQ(value(second, "incarnation"), "2");
  CHECK(contains(f.log_text(), "incarnation=2 first_boot=false"));
}

TEST_CASE("a bad value exits 2 with the key named and nothing started") {
  struct bad_case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string named;
  };
  std::vector<bad_case> cases{
    {{"--listen", "localhost"}, {}, "node.listen"},
    {{"--log-level", "chatty"}, {}, "log.level"},
    {{"--join", "seed"}, {}, "cluster.join"},
    {{"--run-for", "soon"}, {}, "--run-for"},
    {{"--no-such-flag"}, {}, "--no-such-flag"},
    {{}, {{"TROUPE_LOG_MAX_FILES", "0"}}, "log.max_files"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.named);
    node_fixture f;
    auto proc = f.start(c.args, c.env);
    CHECK_EQ(exit_code(proc->wait_exit(stop_deadline)), 2);
    auto err = proc->stderr_text();
    CHECK(contains(err, c.named));
    CHECK_EQ(std::count(err.begin(), err.end(), '\n'), 1);
    CHECK_FALSE(contains(err, "terminate called"));
    CHECK_FALSE(std::filesystem::exists(f.data_dir()));
  }
}

TEST_CASE("a bad config file exits 2 naming the file and the key") {
  node_fixture f;
  auto file = f.dir.path() / "node.toml";
  std::ofstream{file} << "[node]\nlisten = \"127.0.0.1:99999\"\n";
  auto proc = f.start({"--config", file.string()});
  CHECK_EQ(exit_code(proc->wait_exit(stop_deadline)), 2);
  auto err = proc->stderr_text();
  CHECK(contains(err, "node.listen"));
  CHECK(contains(err, "99999"));
  CHECK(contains(err, file.string()));
}

TEST_CASE("a second node on the same data directory is refused") {
  node_fixture f;
  auto first = f.start();
  REQUIRE(f.wait_started());
  auto second = f.start({"--run-for", "10s"});
  CHECK_EQ(exit_code(second->wait_exit(stop_deadline)), 1);
  CHECK(contains(second->stderr_text(), "in use by another running node"));
  first->signal(SIGTERM);
  CHECK_EQ(exit_code(first->wait_exit(stop_deadline)), 0);
}

TEST_CASE("a listen port that is taken is a start-up error") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  REQUIRE_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = std::to_string(ntohs(addr.sin_port));
  node_fixture f;
  auto proc = f.start({"--listen", "127.0.0.1:" + port});
  CHECK_EQ(exit_code(proc->wait_exit(stop_deadline)), 1);
  CHECK(contains(proc->stderr_text(), "cannot listen on 127.0.0.1:" + port));
  CHECK(contains(f.log_text(), "event=node.abort"));
  ::close(fd);
}

TEST_CASE("--version prints version, commit, build type, compiler and CAF") {
  node_fixture f;
  auto proc = std::make_unique<tk::node_process>(tk::node_process::options{
    .binary = tk::troupe_node_binary(),
    .args = {"--version"},
    .env = {},
    .work_dir = f.dir.path(),
  });
  CHECK_EQ(exit_code(proc->wait_exit(stop_deadline)), 0);
  auto out = proc->stdout_text();
  for (auto field :
       {"troupe ", "commit:", "build type:", "compiler:", "CAF 0.17.6"}) {
    CAPTURE(field);
    CHECK(contains(out, field));
  }
}

TEST_CASE("--help lists every setting with its variable and precedence") {
  node_fixture f;
  auto proc = std::make_unique<tk::node_process>(tk::node_process::options{
    .binary = tk::troupe_node_binary(),
    .args = {"--help"},
    .env = {},
    .work_dir = f.dir.path(),
  });
  CHECK_EQ(exit_code(proc->wait_exit(stop_deadline)), 0);
  auto out = proc->stdout_text();
  CHECK(contains(out, "TROUPE_NODE_LISTEN"));
  CHECK(contains(out, "--join"));
  CHECK(contains(out, "lowest precedence first"));
}

TEST_SUITE_END();

// Process tests of the console, troupectl and the HTTP endpoint: a real
// troupe-node, driven from outside over its socket, TCP and HTTP.
#include "troupe/apps/console_client.hpp"
#include "troupe/apps/console_protocol.hpp"
#include "troupe/runtime/crash_log.hpp"
#include "troupe/testkit/node_process.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace tk = troupe::testkit;
using namespace std::chrono_literals;

namespace {

constexpr auto deadline = 30s;

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::filesystem::path troupectl_binary() {
  const char* path = std::getenv("TROUPE_TEST_CTL_BIN");
  REQUIRE_MESSAGE(path != nullptr, "TROUPE_TEST_CTL_BIN is not set: run the "
                                   "tests through meson test");
  return path;
}

struct ctl_result {
  int status = -1;
  std::string out;
  std::string err;
};

// A troupe-node process with the console on TCP and HTTP on free ports.
struct console_node {
  tk::temp_dir dir;
  std::unique_ptr<tk::node_process> proc;
  std::uint16_t tcp_port = 0;
  std::uint16_t http_port = 0;

  std::filesystem::path data_dir() const {
    return dir.path() / "data";
  }

  std::string log_text() const {
    return tk::read_text(data_dir() / "log" / "node.log");
  }

  // The port in `key=127.0.0.1:PORT` of the first log line with `event`.
  std::uint16_t port_from_log(const std::string& event,
                              const std::string& key) {
    std::istringstream lines{log_text()};
    std::string line;
    while (std::getline(lines, line)) {
      if (!contains(line, event)) {
        continue;
      }
      auto at = line.find(key + "=");
      REQUIRE(at != std::string::npos);
      auto colon = line.find(':', at);
      return static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
    }
    FAIL("no log line " << event);
    return 0;
  }

  void start() {
    proc = std::make_unique<tk::node_process>(tk::node_process::options{
      .binary = tk::troupe_node_binary(),
      .args = {"--name", "c1@127.0.0.1", "--data-dir", data_dir().string(),
               "--listen", "127.0.0.1:0", "--console-tcp", "127.0.0.1:0",
               "--http", "127.0.0.1:0", "--examples"},
      .env = {},
      .work_dir = dir.path(),
    });
    REQUIRE(tk::wait_until(
      [this] { return contains(log_text(), "event=node.start "); }, deadline));
    tcp_port = port_from_log("event=console.listen", "tcp");
    http_port = port_from_log("event=http.listen", "address");
    // Serving once the node is up in its own one-node cluster.
    REQUIRE(tk::wait_until(
      [this] {
        return ctl({"status"}).out.find("health      serving")
               != std::string::npos;
      },
      deadline));
  }

  ctl_result ctl(std::vector<std::string> args, bool by_tcp = false) {
    tk::temp_dir work;
    std::vector<std::string> full;
    if (by_tcp) {
      full = {"--host", "127.0.0.1:" + std::to_string(tcp_port), "--token-file",
              (data_dir() / "console.token").string()};
    } else {
      full = {"--data-dir", data_dir().string()};
    }
    full.insert(full.end(), args.begin(), args.end());
    tk::node_process p{{.binary = troupectl_binary(),
                        .args = full,
                        .env = {},
                        .work_dir = work.path()}};
    auto status = p.wait_exit(deadline);
    REQUIRE(status);
    REQUIRE(WIFEXITED(*status));
    return {WEXITSTATUS(*status), p.stdout_text(), p.stderr_text()};
  }

  troupe::console_client socket() {
    auto c = troupe::console_client::connect_unix(data_dir() / "console.sock");
    REQUIRE(c);
    return std::move(*c);
  }

  bool still_serves() {
    auto c = troupe::console_client::connect_unix(data_dir() / "console.sock");
    if (!c) {
      return false;
    }
    auto r = c->call({"status"});
    return r && r->ok && !proc->exited();
  }
};

// Whether the node closes `fd` (or has closed it) within `limit`.
bool closed_within(int fd, std::chrono::milliseconds limit) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) {
    return false;
  }
  char b = 0;
  auto n = ::recv(fd, &b, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

// Raw bytes to a fresh Unix connection; returns the node's reply, if any,
// and whether the node closed the connection afterwards.
struct raw_outcome {
  std::optional<troupe::actors::console_reply> reply;
  bool closed = false;
};

raw_outcome send_raw(console_node& n, const std::string& bytes) {
  auto c = n.socket();
  REQUIRE(::send(c.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL)
          == static_cast<ssize_t>(bytes.size()));
  raw_outcome out;
  std::string body;
  if (troupe::read_frame(c.fd(), troupe::console_max_reply_bytes, body, 10s,
                         10s)
      == troupe::frame_status::ok) {
    auto r = troupe::decode_reply(body);
    REQUIRE(r);
    out.reply = *r;
  }
  // Closed: an end of stream, or a reset (the node closes at once, with
  // the rest of what was sent unread).
  out.closed = closed_within(c.fd(), 10s);
  return out;
}

std::string frame_of(const std::string& body) {
  auto n = static_cast<std::uint32_t>(body.size());
  std::string out{static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                  static_cast<char>(n >> 8), static_cast<char>(n)};
  return out + body;
}

// The answers to `tries` requests over TCP with a wrong token.
std::set<std::string> wrong_token_answers(const console_node& n, int tries) {
  std::set<std::string> answers;
  for (int i = 0; i < tries; ++i) {
    auto c = troupe::console_client::connect_tcp(
      {.host = "127.0.0.1", .port = n.tcp_port}, "not-the-token");
    REQUIRE(c);
    auto r = c->call({"status"});
    REQUIRE(r);
    CHECK_FALSE(r->ok);
    answers.insert(r->text);
  }
  return answers;
}

// A TCP connection to 127.0.0.1:`port`, from the loopback address `from`.
int dial_loopback(std::uint16_t port, const char* from = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &src.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)) == 0);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) == 0);
  return fd;
}

} // namespace

TEST_SUITE_BEGIN("apps.console");

TEST_CASE("the operator is never locked out: the Unix socket has slots of "
          "its own, idle connections are closed, a burst waits for slots, "
          "and wrong tokens lock out only their source") {
  console_node n;
  n.start();
  SUBCASE("idle connections on both endpoints") {
    std::vector<troupe::console_client> idle;
    for (int i = 0; i < 20; ++i) {
      auto c = troupe::console_client::connect_tcp(
        {.host = "127.0.0.1", .port = n.tcp_port}, "never-sent");
      REQUIRE(c);
      idle.push_back(std::move(*c));
    }
    for (int i = 0; i < 16; ++i) {
      idle.push_back(n.socket());
    }
    // Behind 16 idle Unix connections, a 17th waits for a slot, and gets
    // one when the node closes the idle ones.
    auto c = n.socket();
    auto r = c.call({"status"});
    REQUIRE(r);
    CHECK(r->ok);
    for (auto& i : idle) {
      CHECK(closed_within(i.fd(), 10s));
    }
    CHECK(contains(n.log_text(), "event=console.idle_closed"));
  }
  SUBCASE("a hundred status requests at once are all answered") {
    std::atomic<int> answered{0};
    std::vector<std::thread> callers;
    for (int i = 0; i < 100; ++i) {
      callers.emplace_back([&] {
        auto c
          = troupe::console_client::connect_unix(n.data_dir() / "console.sock");
        if (!c) {
          return;
        }
        auto r = c->call({"status"});
        if (r && r->ok) {
          ++answered;
        }
      });
    }
    for (auto& t : callers) {
      t.join();
    }
    CHECK_EQ(answered.load(), 100);
  }
  SUBCASE("wrong tokens from one address do not lock out another") {
    auto answers = wrong_token_answers(n, 8);
    CHECK(answers.count("too many failed authentications: try again later")
          == 1);
    // The right token from 127.0.0.2 (loopback too) gets in.
    auto token = tk::read_text(n.data_dir() / "console.token");
    token.erase(token.find_last_not_of(" \n") + 1);
    int fd = dial_loopback(n.tcp_port, "127.0.0.2");
    auto req
      = frame_of(troupe::encode_request({.args = {"status"}, .token = token}));
    REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL)
            == static_cast<ssize_t>(req.size()));
    std::string body;
    REQUIRE(
      troupe::read_frame(fd, troupe::console_max_reply_bytes, body, 10s, 10s)
      == troupe::frame_status::ok);
    auto reply = troupe::decode_reply(body);
    ::close(fd);
    REQUIRE(reply);
    CHECK(reply->ok);
    // And the Unix socket is never rate-limited.
    CHECK(n.still_serves());
  }
  CHECK(n.still_serves());
}

TEST_CASE("every console command answers through troupectl, over the Unix "
          "socket and over TCP with the token") {
  console_node n;
  // A crash report from an earlier life of the node, for `reports`.
  std::filesystem::create_directories(n.data_dir() / "log");
  std::ofstream{n.data_dir() / "log" / "crash.log"}
    << troupe::runtime::to_json_line({.time = "2026-11-24T10:00:00Z",
                                      .node = "c1",
                                      .actor_id = 42,
                                      .name = "cache",
                                      .behaviour = "gen_server",
                                      .last_message = "(put, \"k\")",
                                      .status = "size=3",
                                      .reason = "disk full"})
    << "\n";
  n.start();
  struct expectation {
    std::vector<std::string> args;
    std::string needle;
  };
  std::vector<expectation> reads{
    {{"status"}, "incarnation 1"},
    {{"version"}, "CAF 0.17.6"},
    {{"members"}, "c1@127.0.0.1"},
    {{"ring"}, "64 partitions"},
    {{"ring", "full"}, "previous owner"},
    {{"services"}, "c1@127.0.0.1"},
    {{"transfers"}, "no handoffs in progress"},
    {{"tree"}, "membership"},
    {{"actors", "3"}, "busiest by mailbox"},
    {{"inspect", "cluster/membership"}, "behaviour: membership"},
    {{"log", "level", "cluster", "debug"}, "cluster set to debug"},
    {{"log", "tail", "5"}, "event="},
    {{"log", "loggers"}, "c1.apps.node"},
    {{"reports"}, "1 crash report"},
    {{"reports", "show", "1"}, "reason:       disk full"},
    {{"metrics"}, "troupe_cluster_gossip_rounds_total"},
    {{"counter", "x", "add", "2"}, "(on c1@127.0.0.1)"},
    {{"send", "counter/x", "hello"}, "routed \"hello\" to counter/x"},
    {{"help"}, "inspect"},
    {{"help", "kill"}, "needs --yes"},
  };
  for (const auto& e : reads) {
    for (bool tcp : {false, true}) {
      CAPTURE(e.args);
      CAPTURE(tcp);
      auto r = n.ctl(e.args, tcp);
      CHECK(r.status == 0);
      CHECK(contains(r.out, e.needle));
    }
    // The same through --json: one JSON document with ok and data.
    auto args = e.args;
    args.push_back("--json");
    auto r = n.ctl(args);
    CHECK(r.status == 0);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j["ok"] == true);
    CHECK(j.contains("data"));
  }
  auto status = nlohmann::json::parse(n.ctl({"status", "--json"}).out);
  CHECK(status["data"]["member_status"] == "up");
  CHECK(status["data"]["incarnation"] == 1);
  auto actors = nlohmann::json::parse(n.ctl({"actors", "--json"}).out);
  CHECK(actors["data"]["unanswered"] == 0); // every Troupe actor answers

  // Destructive commands: refused without --yes, done with it.
  auto refused = n.ctl({"drain"});
  CHECK(refused.status == 1);
  CHECK(contains(refused.err, "--yes"));
  CHECK(n.ctl({"drain", "--yes"}).status == 0);
  CHECK(tk::wait_until(
    [&] { return contains(n.ctl({"services"}).out, "[draining]"); }, deadline));
  CHECK(contains(n.ctl({"status"}).out, "health      draining"));
  CHECK(n.ctl({"undrain", "--yes"}).status == 0);
  CHECK(tk::wait_until(
    [&] { return !contains(n.ctl({"services"}).out, "[draining]"); },
    deadline));

  auto killed = n.ctl({"kill", "cluster/gossip", "--yes"});
  CHECK(killed.status == 0);
  CHECK(contains(killed.out, "sent exit"));
  CHECK(tk::wait_until(
    [&] {
      auto tree = n.ctl({"tree", "--json"}).out;
      auto j = nlohmann::json::parse(tree, nullptr, false);
      for (const auto& app : j["data"]["children"]) {
        for (const auto& c : app["children"]) {
          if (c["id"] == "gossip" && c["restarts"] == 1 && c["running"]) {
            return true;
          }
        }
      }
      return false;
    },
    deadline));
  CHECK(n.ctl({"kill", "no-such-actor", "--yes"}).status == 1);
  auto root = n.ctl({"kill", "root", "--yes"});
  CHECK(root.status == 1);

  auto send = n.ctl({"send", "nobody", "hello"});
  CHECK(send.status == 1);
  CHECK(contains(send.err, "no local actor"));
  CHECK(n.ctl({"join", "not-an-address", "--yes"}).status == 1);
  CHECK(n.ctl({"join", "127.0.0.1:1", "--yes"}).status == 0);

  auto leave = n.ctl({"leave", "--yes"});
  CHECK(leave.status == 0);
  CHECK(tk::wait_until(
    [&] { return !contains(n.ctl({"status"}).out, "member      up"); },
    deadline));
  CHECK(n.still_serves());
}

TEST_CASE("bad console input gets a clear error or a closed connection, and "
          "the node is unaffected") {
  console_node n;
  n.start();

  SUBCASE("unknown commands and bad arguments are errors; the session goes "
          "on") {
    auto c = n.socket();
    for (std::vector<std::string> bad : {std::vector<std::string>{"frobnicate"},
                                         {"actors", "lots"},
                                         {"ring", "half"},
                                         {"log", "level"},
                                         {"log", "level", "x", "loud"},
                                         {"reports", "show", "7"},
                                         {"inspect"},
                                         {"status", "extra"}}) {
      CAPTURE(bad);
      auto r = c.call(bad);
      REQUIRE(r);
      CHECK_FALSE(r->ok);
      CHECK_FALSE(r->text.empty());
    }
    auto ok = c.call({"version"});
    REQUIRE(ok);
    CHECK(ok->ok);
    auto tool = n.ctl({"frobnicate"});
    CHECK(tool.status == 1);
    CHECK(contains(tool.err, "unknown command"));
  }
  SUBCASE("an oversized request is refused and the connection closed") {
    // The node refuses on the length prefix, without reading the body.
    auto out = send_raw(n, frame_of(std::string(1 << 20, 'x')).substr(0, 1028));
    REQUIRE(out.reply);
    CHECK_FALSE(out.reply->ok);
    CHECK(contains(out.reply->text, "exceeds the limit"));
    CHECK(out.closed);
  }
  SUBCASE("garbage bytes are refused and the connection closed") {
    // Read as a length prefix, text is a frame of ~1.7 GB.
    auto text = send_raw(n, "hello, is this the console?\n");
    REQUIRE(text.reply);
    CHECK_FALSE(text.reply->ok);
    CHECK(text.closed);
    for (std::string body :
         {std::string{"\x01\x02\xff garbage"}, std::string{"[1, 2, 3]"},
          std::string{R"({"v": 99, "args": ["status"]})"},
          std::string{R"({"v": 1, "args": []})"},
          std::string{R"({"v": 1, "args": [1]})"},
          std::string{R"({"v": 1, "args": ["status"],
                                            "json": "yes"})"},
          std::string{}}) {
      CAPTURE(body);
      auto out = send_raw(n, frame_of(body));
      REQUIRE(out.reply);
      CHECK_FALSE(out.reply->ok);
      CHECK(contains(out.reply->text, "bad request"));
      CHECK(out.closed);
    }
  }
  SUBCASE("a client that disconnects mid-request or mid-reply") {
    for (int i = 0; i < 5; ++i) {
      auto c = n.socket();
      auto half = frame_of(troupe::encode_request({.args = {"status"}}));
      half.resize(half.size() / 2);
      ::send(c.fd(), half.data(), half.size(), MSG_NOSIGNAL);
    }
    for (int i = 0; i < 5; ++i) {
      auto c = n.socket();
      auto whole = frame_of(
        troupe::encode_request({.args = {"ring", "full"}, .json = true}));
      ::send(c.fd(), whole.data(), whole.size(), MSG_NOSIGNAL);
    }
  }
  SUBCASE("a wrong token is refused, logged and rate-limited") {
    tk::temp_dir work;
    auto bad = work.path() / "token";
    {
      std::ofstream out{bad};
      out << "not-the-token\n";
    }
    std::filesystem::permissions(bad, std::filesystem::perms::owner_read
                                        | std::filesystem::perms::owner_write);
    auto answers = wrong_token_answers(n, 8);
    CHECK(answers.count("authentication failed") == 1);
    CHECK(answers.count("too many failed authentications: try again later")
          == 1);
    CHECK(contains(n.log_text(), "event=console.auth_failed"));
    auto tool = n.ctl({"--host", "127.0.0.1:" + std::to_string(n.tcp_port),
                       "--token-file", bad.string(), "status"});
    CHECK(tool.status != 0);
  }
  CHECK(n.still_serves());
  CHECK(contains(n.log_text(), "event=console.command"));
}

TEST_CASE("HTTP: slow and idle clients do not keep /healthz from answering") {
  console_node n;
  n.start();
  auto dial = [&] { return dial_loopback(n.http_port); };
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) {
    fds.push_back(dial()); // idle: never sends a byte
  }
  // Four clients sending their headers at one byte per second.
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;
  std::vector<std::thread> slow;
  for (int i = 0; i < 4; ++i) {
    int fd = dial();
    fds.push_back(fd);
    slow.emplace_back([&, fd] {
      std::string request = "GET /healthz HTTP/1.1\r\nHost: slow\r\n";
      std::unique_lock<std::mutex> lock{mtx};
      for (std::size_t k = 0; !done; k = (k + 1) % request.size()) {
        ::send(fd, &request[k], 1, MSG_NOSIGNAL);
        cv.wait_for(lock, 1s, [&] { return done; });
      }
    });
  }
  httplib::Client http{"127.0.0.1", n.http_port};
  http.set_connection_timeout(3, 0);
  http.set_read_timeout(3, 0);
  for (int i = 0; i < 3; ++i) {
    auto r = http.Get("/healthz");
    CHECK(r); // not REQUIRE: the slow clients' threads end below either way
    CHECK((r && r->status == 200));
  }
  {
    std::lock_guard<std::mutex> lock{mtx};
    done = true;
  }
  cv.notify_all();
  for (auto& t : slow) {
    t.join();
  }
  for (int fd : fds) {
    ::close(fd);
  }
  CHECK(n.still_serves());
}

TEST_CASE("HTTP: /metrics is Prometheus text, /status JSON, and /healthz "
          "follows draining") {
  console_node n;
  n.start();
  httplib::Client http{"127.0.0.1", n.http_port};
  const std::vector<std::string> wanted = {"troupe_build_info",
                                           "troupe_cluster_members",
                                           "troupe_cluster_gossip_rounds_total",
                                           "troupe_cluster_convergence_seconds",
                                           "troupe_cluster_frames_total",
                                           "troupe_cluster_transfers",
                                           "troupe_cluster_ring_partitions"};
  // The cluster's actors register their families as they start, which may
  // be just after the node reports itself started: wait for all of them.
  std::optional<httplib::Response> metrics;
  CHECK(tk::wait_until(
    [&] {
      auto r = http.Get("/metrics");
      if (!r) {
        return false;
      }
      metrics = *r;
      return std::all_of(wanted.begin(), wanted.end(),
                         [&](const std::string& family) {
                           return contains(metrics->body, "\n" + family);
                         });
    },
    deadline));
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(contains(metrics->get_header_value("Content-Type"), "text/plain"));
  // Every line is a comment (# HELP / # TYPE) or a sample; every sample's
  // family was typed before it.
  std::regex help{R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)"};
  std::regex type{
    R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)"};
  std::regex sample{
    R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN)$)"};
  std::set<std::string> typed;
  std::set<std::string> families;
  std::istringstream lines{metrics->body};
  std::string line;
  size_t samples = 0;
  while (std::getline(lines, line)) {
    CAPTURE(line);
    std::smatch m;
    if (std::regex_match(line, m, type)) {
      typed.insert(m[1]);
    } else if (std::regex_match(line, m, sample)) {
      std::string name = m[1];
      for (auto suffix : {"_bucket", "_sum", "_count"}) {
        std::string s{suffix};
        if (!typed.count(name) && name.size() > s.size()
            && name.compare(name.size() - s.size(), s.size(), s) == 0) {
          name.resize(name.size() - s.size());
        }
      }
      CHECK(typed.count(name) == 1);
      families.insert(name);
      ++samples;
    } else {
      CHECK(std::regex_match(line, help));
    }
  }
  CHECK(samples > 10);
  for (const auto& want : wanted) {
    CAPTURE(want);
    CHECK(families.count(want) == 1);
  }

  auto status = http.Get("/status");
  REQUIRE(status);
  CHECK(status->status == 200);
  auto j = nlohmann::json::parse(status->body, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["name"] == "c1@127.0.0.1");
  CHECK(j["member_status"] == "up");

  auto health = [&http] {
    auto r = http.Get("/healthz");
    return r ? r->status : -1;
  };
  CHECK(health() == 200);
  REQUIRE(n.ctl({"drain", "--yes"}).status == 0);
  CHECK(tk::wait_until([&] { return health() == 503; }, deadline));
  REQUIRE(n.ctl({"undrain", "--yes"}).status == 0);
  CHECK(tk::wait_until([&] { return health() == 200; }, deadline));
  CHECK(http.Get("/nothing-here")->status == 404);
}

TEST_CASE("troupectl attach: completion, Ctrl-C cancels the line, "
          "confirmation, Ctrl-D detaches and the node keeps running") {
  console_node n;
  n.start();
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto bin = troupectl_binary().string();
    auto dir = n.data_dir().string();
    ::setenv("HOME", n.dir.path().c_str(), 1);
    ::execl(bin.c_str(), bin.c_str(), "--data-dir", dir.c_str(), "attach",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string seen;
  std::string transcript; // all of it, for failure messages
  // Reads until `needle` appears in what the session printed, then forgets
  // everything up to its end, so that the next expectation is met only by
  // what comes after it.
  auto expect = [&](const std::string& needle) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!contains(seen, needle)
           && std::chrono::steady_clock::now() < until) {
      pollfd p{.fd = master, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 100) == 1) {
        char buf[4096];
        auto r = ::read(master, buf, sizeof(buf));
        if (r <= 0) {
          break;
        }
        seen.append(buf, static_cast<size_t>(r));
        transcript.append(buf, static_cast<size_t>(r));
      }
    }
    auto at = seen.find(needle);
    if (at == std::string::npos) {
      return false;
    }
    seen.erase(0, at + needle.size());
    return true;
  };
  auto type = [&](const std::string& keys) {
    REQUIRE(::write(master, keys.data(), keys.size())
            == static_cast<ssize_t>(keys.size()));
  };
  // Keys are typed only once a fresh prompt shows and the line editor has
  // put the terminal into its editing mode: between lines the terminal is
  // cooked, and there a Ctrl-D typed ahead is not an end of file.
  int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  REQUIRE(slave >= 0);
  auto editing = [slave] {
    termios t{};
    return ::tcgetattr(slave, &t) == 0 && (t.c_lflag & ICANON) == 0;
  };
  const std::string prompt = "c1@127.0.0.1> ";
  auto at_prompt = [&](const std::string& keys) {
    REQUIRE(expect(prompt));
    REQUIRE(tk::wait_until(editing, deadline));
    type(keys);
  };
  CHECK(expect("attached to c1@127.0.0.1"));
  at_prompt("vers\t\n"); // completes to `version`
  CHECK(expect("CAF 0.17.6"));
  at_prompt("leave --yes please");
  CHECK(expect("please")); // echoed: the line is being edited
  type("\x03");            // Ctrl-C: the line is dropped, the node untouched
  at_prompt("drain\n");
  CHECK(expect("really run it? [y/N]"));
  REQUIRE(tk::wait_until(editing, deadline));
  type("n\n");
  CHECK(expect("not run"));
  at_prompt("members\n");
  CHECK(expect("self,leader"));
  at_prompt("\x04"); // Ctrl-D detaches
  if (!expect("detached from c1@127.0.0.1")) {
    ::kill(pid, SIGKILL);
    FAIL_CHECK("troupectl did not detach on Ctrl-D; the session:\n"
               << transcript);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  ::close(slave);
  ::close(master);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // Nothing typed there reached the node: still up, serving, not draining.
  CHECK(contains(n.ctl({"status"}).out, "health      serving"));
  CHECK(contains(n.log_text(), "command=\"members\""));
  CHECK_FALSE(contains(n.log_text(), "command=\"leave"));
  CHECK_FALSE(contains(n.log_text(), "command=\"drain"));
}

TEST_SUITE_END();

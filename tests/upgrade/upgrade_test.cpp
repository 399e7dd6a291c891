// A rolling upgrade across two builds of this tree. Three troupe-node
// processes of the previous build (whose wire has neither the members'
// software nor their capabilities) form a cluster; each is then stopped and
// started again from its data directory on this build, one at a time, while
// a client increments counters through every node that is in service. No
// request may fail outside a node's restart window, the old and the new wire
// must understand each other throughout, and the capability that the old
// build lacks must be in use exactly when every member states it.
#include "troupe/apps/console_client.hpp"
#include "troupe/testkit/node_process.hpp"
#include "troupe/testkit/wait.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <sys/wait.h>

namespace tk = troupe::testkit;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto deadline = 60s;
const std::vector<std::string> names{"a", "b", "c"};
constexpr int keys = 16;
const std::string capability = "troupe.capabilities";

std::filesystem::path previous_binary() {
  const char* p = std::getenv("TROUPE_TEST_NODE_PREVIOUS_BIN");
  REQUIRE_MESSAGE(p != nullptr, "TROUPE_TEST_NODE_PREVIOUS_BIN is not set");
  return p;
}

struct cluster {
  tk::temp_dir dir;
  // Both builds under `upgrade`: the previous one offers no session
  // protection (its codec cannot carry the offer), so it talks as a build
  // before it did; the new one encrypts with its own kind and admits the
  // old one.
  std::map<std::string, std::string> env = [] {
    auto e = tk::fast_cluster_env();
    e["TROUPE_CLUSTER_TRANSPORT_SECURITY"] = "upgrade";
    return e;
  }();
  std::map<std::string, std::unique_ptr<tk::node_process>> nodes;

  std::filesystem::path data_dir(const std::string& name) const {
    return dir.path() / "data" / name;
  }

  std::string log_of(const std::string& name) const {
    return tk::read_text(data_dir(name) / "log" / "node.log");
  }

  void start(const std::string& name, const std::filesystem::path& binary,
             std::vector<std::string> extra) {
    std::vector<std::string> args{"--name",     name + "@127.0.0.1",
                                  "--data-dir", data_dir(name).string(),
                                  "--listen",   "127.0.0.1:0",
                                  "--examples"};
    args.insert(args.end(), extra.begin(), extra.end());
    nodes[name] = std::make_unique<tk::node_process>(tk::node_process::options{
      .binary = binary,
      .args = std::move(args),
      .env = env,
      .work_dir = dir.path(),
    });
  }

  // The port a node logged at its (latest) start.
  std::string port_of(const std::string& name) const {
    return tk::started_port(data_dir(name) / "log" / "node.log", "127.0.0.1",
                            deadline);
  }

  std::filesystem::path socket_of(const std::string& name) const {
    return data_dir(name) / "console.sock";
  }

  // One console command; the reply, or an error text.
  caf::expected<troupe::actors::console_reply>
  call(const std::string& name, const std::vector<std::string>& args) const {
    auto c = troupe::console_client::connect_unix(socket_of(name));
    if (!c) {
      return c.error();
    }
    return c->call(args, true, false, 10s);
  }

  // Whether every node sees `name` up with `incarnation`.
  bool up_everywhere(const std::string& name, std::uint64_t incarnation) const {
    for (const auto& viewer : names) {
      auto r = call(viewer, {"members"});
      if (!r || !r->ok) {
        return false;
      }
      bool seen = false;
      for (const auto& m : r->data["members"]) {
        seen = seen
               || (m["name"] == name + "@127.0.0.1" && m["status"] == "up"
                   && m["incarnation"] == incarnation && !m["unreachable"]);
      }
      if (!seen) {
        return false;
      }
    }
    return true;
  }

  // Whether every key answers through every node.
  bool every_key_answers() const {
    for (const auto& via : names) {
      for (int k = 0; k < keys; ++k) {
        auto r = call(via, {"counter", fmt::format("k{}", k)});
        if (!r || !r->ok) {
          return false;
        }
      }
    }
    return true;
  }
};

// Counter increments through the nodes in service, round robin, one at a
// time, each outcome kept with when it started and ended.
class traffic {
public:
  struct outcome {
    clock_type::time_point start;
    clock_type::time_point end{};
    std::string via;
    bool ok = false;
    std::string text{};
  };

  explicit traffic(const cluster& c)
    : cluster_(c), serving_(names.begin(), names.end()) {
    thread_ = std::thread{[this] { run(); }};
  }

  ~traffic() {
    stop();
  }

  void stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  // A node leaves or enters service (a load balancer's view).
  void serve(const std::string& name, bool on) {
    std::lock_guard<std::mutex> guard{mtx_};
    if (on) {
      serving_.insert(name);
    } else {
      serving_.erase(name);
    }
  }

  std::size_t completed() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return outcomes_.size();
  }

  std::vector<outcome> outcomes() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return outcomes_;
  }

private:
  void run() {
    for (std::size_t i = 0; !stop_; ++i) {
      std::string via;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        auto it = serving_.begin();
        std::advance(it, static_cast<long>(i % serving_.size()));
        via = *it;
      }
      // A connection per request, as a client behind a load balancer has
      // (a kept one would outlive the process it was made to).
      outcome o{.start = clock_type::now(), .via = via};
      auto r = cluster_.call(via, {"counter", fmt::format("k{}", i % keys),
                                   "add", "1"});
      if (!r) {
        o.text = caf::to_string(r.error());
      } else {
        o.ok = r->ok;
        o.text = r->text;
      }
      o.end = clock_type::now();
      std::lock_guard<std::mutex> guard{mtx_};
      outcomes_.push_back(std::move(o));
    }
  }

  const cluster& cluster_;
  mutable std::mutex mtx_;
  std::set<std::string> serving_;
  std::vector<outcome> outcomes_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The capability view of one node: what is in use, who lacks what.
struct capability_view {
  std::set<std::string> in_use;
  std::set<std::string> lacking;
};

capability_view capabilities_on(const cluster& c, const std::string& name) {
  auto r = c.call(name, {"capabilities"});
  REQUIRE(r);
  REQUIRE(r->ok);
  capability_view v;
  for (const auto& x : r->data["in_use"]) {
    v.in_use.insert(x.get<std::string>());
  }
  for (const auto& [member, caps] : r->data["missing"].items()) {
    v.lacking.insert(member);
  }
  return v;
}

// The software each member states, as `name` sees it.
std::map<std::string, std::string> software_on(const cluster& c,
                                               const std::string& name) {
  auto r = c.call(name, {"members"});
  REQUIRE(r);
  REQUIRE(r->ok);
  std::map<std::string, std::string> out;
  for (const auto& m : r->data["members"]) {
    out[m["name"].get<std::string>()] = m["software"].get<std::string>();
  }
  return out;
}

} // namespace

TEST_SUITE_BEGIN("upgrade");

TEST_CASE("a cluster of the previous build is upgraded one node at a time "
          "with traffic flowing") {
  cluster c;
  auto previous = previous_binary();
  c.start("a", previous, {});
  auto seed = "127.0.0.1:" + c.port_of("a");
  REQUIRE(seed != "127.0.0.1:");
  c.start("b", previous, {"--join", seed});
  c.start("c", previous, {"--join", seed});
  for (const auto& n : names) {
    CAPTURE(n);
    REQUIRE(tk::wait_until([&] { return c.up_everywhere(n, 1); }, deadline));
  }
  REQUIRE(tk::wait_until([&] { return c.every_key_answers(); }, deadline));
  // The previous build's wire carries no software: a node sees none for
  // the others.
  for (const auto& [member, software] : software_on(c, "a")) {
    CAPTURE(member);
    CHECK((member == "a@127.0.0.1" || software.empty()));
  }

  traffic t{c};
  std::vector<std::pair<clock_type::time_point, clock_type::time_point>>
    windows;
  std::size_t upgraded = 0;
  for (const auto& n : {"c", "b", "a"}) {
    CAPTURE(n);
    // Out of service, stopped in order, started on the new build from its
    // data directory (no --join: the persisted state says whom to call).
    auto window_start = clock_type::now();
    t.serve(n, false);
    c.nodes[n]->signal(SIGTERM);
    auto status = c.nodes[n]->wait_exit(deadline);
    REQUIRE(status);
    CHECK(WIFEXITED(*status));
    CHECK(WEXITSTATUS(*status) == 0);
    c.start(n, tk::troupe_node_binary(), {});
    REQUIRE(tk::wait_until([&] { return c.up_everywhere(n, 2); }, deadline));
    REQUIRE(tk::wait_until([&] { return c.every_key_answers(); }, deadline));
    t.serve(n, true);
    windows.emplace_back(window_start, clock_type::now());
    ++upgraded;
    // Steady state: a stretch of traffic through every node, none of which
    // may fail.
    auto before = t.completed();
    REQUIRE(
      tk::wait_until([&] { return t.completed() >= before + 60; }, deadline));

    if (upgraded == 1) {
      // Mixed: the new node sees the old ones state nothing and holds the
      // capability back; the old ones have no view of it at all.
      auto v = capabilities_on(c, n);
      CHECK(v.in_use.count(capability) == 0);
      CHECK(v.lacking == std::set<std::string>{"a@127.0.0.1", "b@127.0.0.1"});
      auto sw = software_on(c, n);
      CHECK_FALSE(sw[std::string{n} + "@127.0.0.1"].empty());
      CHECK(sw["a@127.0.0.1"].empty());
      CHECK(sw["b@127.0.0.1"].empty());
    }
  }
  t.stop();

  // Every member on the new build: the capability is in use everywhere and
  // every member's software is known everywhere.
  for (const auto& n : names) {
    CAPTURE(n);
    CHECK(tk::wait_until(
      [&] {
        auto v = capabilities_on(c, n);
        return v.in_use.count(capability) == 1 && v.lacking.empty();
      },
      deadline));
    for (const auto& [member, software] : software_on(c, n)) {
      CAPTURE(member);
      CHECK_FALSE(software.empty());
    }
  }

  // No request failed outside a restart window.
  auto outcomes = t.outcomes();
  std::size_t ok = 0;
  std::size_t failed_in_window = 0;
  for (const auto& o : outcomes) {
    if (o.ok) {
      ++ok;
      continue;
    }
    bool in_window = false;
    for (const auto& [from, to] : windows) {
      in_window = in_window || (o.start <= to && o.end >= from);
    }
    if (in_window) {
      ++failed_in_window;
    } else {
      FAIL_CHECK("request through " << o.via
                                    << " failed outside every restart "
                                       "window: "
                                    << o.text);
    }
  }
  MESSAGE(outcomes.size() << " requests, " << ok << " answered, "
                          << failed_in_window
                          << " failed inside a restart window");
  CHECK(ok >= 3 * 60);

  // The two wires understood each other throughout.
  for (const auto& n : names) {
    CAPTURE(n);
    auto log = c.log_of(n);
    CHECK(log.find("malformed_frame") == std::string::npos);
    CHECK(log.find("unsupported_protocol") == std::string::npos);
    CHECK(log.find("event=peer.refused") == std::string::npos);
  }
  // The first node upgraded spoke in the clear with the old ones; the last
  // encrypts with the new ones.
  CHECK(c.log_of(names.front()).find("protection=none") != std::string::npos);
  CHECK(c.log_of(names.back()).find("protection=encrypt") != std::string::npos);
  for (auto& [n, p] : c.nodes) {
    p->signal(SIGTERM);
    auto status = p->wait_exit(deadline);
    REQUIRE(status);
    CHECK(WEXITSTATUS(*status) == 0);
  }
}

TEST_SUITE_END();

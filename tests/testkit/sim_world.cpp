// The simulated world.
#include "troupe/testkit/sim_world.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/cluster/cluster_app.hpp"
#include "troupe/cluster/errors.hpp"
#include "troupe/cluster/name_table.hpp"
#include "troupe/runtime/errors.hpp"
#include "troupe/runtime/identity.hpp"
#include "troupe/runtime/logging.hpp"
#include "troupe/runtime/metrics.hpp"
#include "troupe/runtime/system_config.hpp"
#include "troupe/supervision/application_controller.hpp"
#include "troupe/supervision/atoms.hpp"
#include "troupe/supervision/supervisor.hpp"
#include "troupe/testkit/cluster_agreement.hpp"
#include "troupe/testkit/sim_transport.hpp"

#include <caf/actor_registry.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>
#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <set>
#include <stdexcept>

namespace troupe::testkit::sim {

namespace {

using namespace std::chrono_literals;

// Node clocks start here, not at zero: code that takes a default time point
// for "long ago" must not see it as "now".
constexpr auto clock_base = std::chrono::hours{1000};

// More messages than this at one moment of virtual time is a livelock.
constexpr std::uint64_t max_jobs_per_instant = 20'000'000;

// How long past its length a leave waits for the node to finish leaving
// before it is stopped anyway (one whose cluster cannot move it out).
constexpr sim_time leave_patience = std::chrono::minutes{1};

std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::filesystem::path make_world_dir(const std::filesystem::path& under) {
  auto base = under;
  if (base.empty()) {
    std::error_code ec;
    base = std::filesystem::is_directory("/dev/shm", ec)
             ? std::filesystem::path{"/dev/shm"}
             : std::filesystem::temp_directory_path();
  }
  auto pattern = (base / "troupe-sim-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a directory under "
                             + base.string());
  }
  return pattern;
}

std::string seconds(sim_time t) {
  return fmt::format("{:.6f}", std::chrono::duration<double>(t).count());
}

} // namespace

std::uint64_t seed_from_env(std::uint64_t fallback) {
  if (const char* text = std::getenv("TROUPE_SIM_SEED")) {
    char* end = nullptr;
    auto v = std::strtoull(text, &end, 0);
    if (end != text && *end == '\0') {
      return v;
    }
  }
  return fallback;
}

std::mt19937_64 stream(std::uint64_t seed, std::string_view purpose,
                       std::uint64_t index) {
  auto x = seed ^ XXH3_64bits(purpose.data(), purpose.size());
  x ^= splitmix(index);
  return std::mt19937_64{splitmix(x)};
}

// -- the parts ----------------------------------------------------------------

struct world::hasher {
  hasher() : state(XXH3_createState()) {
    XXH3_64bits_reset(state);
  }
  ~hasher() {
    XXH3_freeState(state);
  }
  hasher(const hasher&) = delete;
  hasher& operator=(const hasher&) = delete;
  XXH3_state_t* state;
};

// Log lines of one node, into the world's trace.
class world::log_sink final
  : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
public:
  log_sink(world* w, std::size_t node) : world_(w), node_(node) {}

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    world_->record(fmt::format(
      "n{} {} {} {}", node_ + 1, spdlog::level::to_string_view(msg.level),
      std::string_view{msg.logger_name.data(), msg.logger_name.size()},
      std::string_view{msg.payload.data(), msg.payload.size()}));
  }
  void flush_() override {}

private:
  world* world_;
  std::size_t node_;
};

struct world::node_slot {
  std::size_t index = 0;
  std::string name;
  runtime::endpoint address;
  std::filesystem::path dir;
  std::uint64_t boots = 0;
  std::uint64_t life = 0;
  std::string node_id;
  bool up = false; // its actor system runs
  bool frozen = false;
  std::shared_ptr<std::optional<caf::error>> started;
  std::shared_ptr<bool> stop_requested;
  std::optional<runtime::data_dir_lock> lock;
  std::shared_ptr<runtime::log_context> logs;
  std::unique_ptr<runtime::metrics_registry> metrics;
  std::unique_ptr<runtime::system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  cluster::context_ptr ctx;
  caf::actor root;
  caf::actor controller;
  // An orderly stop in progress: the applications stop, then the tree.
  bool stopping = false;
  bool exits_sent = false;
  bool restart_after_stop = false;
  // A leave's end waits until the node has finished leaving, up to this.
  sim_time leave_deadline{0};
  std::shared_ptr<std::optional<caf::error>> apps_stopped;
  // The world's own one-shot actors on this node (killed at teardown).
  std::vector<caf::actor_addr> helpers;
};

// -- construction -------------------------------------------------------------

world::world(options opts)
  : opts_(std::move(opts)), dir_(make_world_dir(opts_.dir)),
    sched_rng_(stream(opts_.seed, "schedule")),
    test_rng_(stream(opts_.seed, "test")), hash_(std::make_unique<hasher>()) {
  if (const char* v = std::getenv("TROUPE_SIM_VERBOSE"); v && *v == '1') {
    opts_.echo = true;
  }
  net_ = std::make_unique<network>(opts_.net, stream(opts_.seed, "network")());
  // One secret for the whole cluster, from the seed.
  auto secret_rng = stream(opts_.seed, "secret");
  auto secret = fmt::format("{:016x}{:016x}", secret_rng(), secret_rng());
  {
    auto path = dir_ / "cluster.secret";
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
      throw std::runtime_error("cannot write " + path.string());
    }
    std::fputs(secret.c_str(), f);
    std::fclose(f);
    std::filesystem::permissions(path, std::filesystem::perms::owner_read
                                         | std::filesystem::perms::owner_write);
  }
  opts_.cluster.secret_file = dir_ / "cluster.secret";
  for (std::size_t i = 0; i < opts_.nodes; ++i) {
    auto n = std::make_unique<node_slot>();
    n->index = i;
    n->name = fmt::format("n{}", i + 1);
    n->address = {.host = fmt::format("10.0.{}.{}", i / 250, i % 250 + 1),
                  .port = 4370};
    n->dir = dir_ / n->name;
    nodes_.push_back(std::move(n));
  }
  timer_of_.resize(nodes_.size());
  record(fmt::format("world seed={} nodes={}", opts_.seed, opts_.nodes));
}

world::~world() {
  for (auto& n : nodes_) {
    if (n->up) {
      n->ctx->abrupt_stop = true;
      net_->crash(n->index, now_);
      tear_down(*n);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::size_t world::size() const {
  return nodes_.size();
}

bool world::running(std::size_t i) const {
  return nodes_.at(i)->up;
}

bool world::frozen(std::size_t i) const {
  return nodes_.at(i)->frozen;
}

const std::string& world::node_id(std::size_t i) const {
  return nodes_.at(i)->node_id;
}

const std::string& world::name(std::size_t i) const {
  return nodes_.at(i)->name;
}

std::vector<std::size_t> world::running_nodes() const {
  std::vector<std::size_t> out;
  for (const auto& n : nodes_) {
    if (n->up) {
      out.push_back(n->index);
    }
  }
  return out;
}

caf::actor_system& world::system_of(std::size_t i) {
  auto& n = *nodes_.at(i);
  if (!n.up) {
    throw std::logic_error(n.name + " is not running");
  }
  return *n.sys;
}

caf::actor_system& world::system(std::size_t i) {
  return system_of(i);
}

const cluster::context_ptr& world::context(std::size_t i) const {
  return nodes_.at(i)->ctx;
}

void world::keep_helper(std::size_t i, const caf::actor& helper) {
  auto& helpers = nodes_.at(i)->helpers;
  if (helpers.size() >= 64) {
    std::erase_if(helpers, [](const caf::actor_addr& a) {
      return !caf::actor_cast<caf::actor>(a);
    });
  }
  helpers.push_back(helper.address());
}

cluster::router_client world::router(std::size_t i) {
  return {system_of(i), nodes_.at(i)->ctx};
}

// -- the trace ----------------------------------------------------------------

void world::hash_bytes(const void* data, std::size_t size) {
  XXH3_64bits_update(hash_->state, data, size);
}

void world::record(std::string line) {
  auto text = fmt::format("{} {}", seconds(now_), line);
  hash_bytes(text.data(), text.size());
  if (opts_.echo) {
    std::cerr << text << '\n';
  }
  trace_.push_back(std::move(text));
  while (trace_.size() > opts_.trace_lines) {
    trace_.pop_front();
  }
}

void world::note(std::string_view line) {
  record(fmt::format("test {}", line));
}

std::uint64_t world::trace_hash() const {
  return XXH3_64bits_digest(hash_->state);
}

void world::check_always(
  std::function<std::optional<std::string>(world&)> check) {
  checks_.push_back(std::move(check));
}

void world::run_checks() {
  if (checks_.empty() || in_checks_) {
    return;
  }
  in_checks_ = true;
  for (auto& check : checks_) {
    if (auto msg = check(*this); msg && !failure_) {
      failure_ = fmt::format("at {} s: {}", seconds(now_), *msg);
      record("check failed: " + *msg);
    }
  }
  in_checks_ = false;
}

// -- starting and stopping nodes ----------------------------------------------

caf::error world::start(std::size_t i) {
  std::vector<std::size_t> through;
  for (auto j : running_nodes()) {
    if (j != i) {
      through.push_back(j);
    }
  }
  return start(i, through);
}

caf::error world::start(std::size_t i,
                        const std::vector<std::size_t>& through) {
  if (auto err = boot(i, through)) {
    return err;
  }
  auto started = nodes_[i]->started;
  run_until([&started] { return started->has_value(); }, 60s);
  if (!started->has_value()) {
    return caf::make_error(caf::sec::request_timeout,
                           nodes_[i]->name + " did not start within 60 s");
  }
  return **started;
}

caf::error world::start_all() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->up) {
      if (auto err = start(i)) {
        return err;
      }
    }
  }
  return {};
}

// Builds node `i` (data directory, logs, identity, actor system, cluster
// context) and starts its root supervisor, application controller, the
// cluster and the user's applications, as `troupe::node` does, without
// waiting: the world runs the start like everything else.
caf::error world::boot(std::size_t i, const std::vector<std::size_t>& through) {
  auto& n = *nodes_.at(i);
  if (n.up) {
    return caf::make_error(caf::sec::invalid_argument,
                           n.name + " is already running");
  }
  ++n.boots;
  n.life = ++lives_;
  record(fmt::format("node n{} boot={} through={}", i + 1, n.boots,
                     fmt::join(through, ",")));
  runtime::node_config cfg;
  cfg.name = n.name;
  cfg.host = n.address.host;
  cfg.listen = n.address;
  cfg.data_dir = n.dir;
  cfg.level = opts_.level;
  cfg.cluster = opts_.cluster;
  for (auto j : through) {
    cfg.join.push_back(nodes_.at(j)->address);
  }
  std::error_code ec;
  std::filesystem::create_directories(n.dir, ec);
  auto lock = runtime::data_dir_lock::acquire(n.dir);
  if (!lock) {
    return std::move(lock.error());
  }
  auto logs = runtime::log_context::make(
    {.node = n.name,
     .level = opts_.level,
     .console = false,
     .file = std::nullopt,
     .extra_sinks = {std::make_shared<log_sink>(this, i)},
     .recent_lines = 16});
  if (!logs) {
    return std::move(logs.error());
  }
  auto node_rng = stream(opts_.seed, "node", i * 1'000'003 + n.boots);
  auto node_seed = node_rng();
  auto identity = runtime::boot_identity(n.dir, node_rng);
  if (!identity) {
    return std::move(identity.error());
  }
  n.lock.emplace(std::move(*lock));
  n.logs = *logs;
  n.node_id = identity->node_id;
  n.metrics = std::make_unique<runtime::metrics_registry>();
  n.cfg = std::make_unique<runtime::system_config>();
  n.cfg->use_test_scheduler();
  cluster::add_cluster_types(*n.cfg);
  n.cfg->logs = n.logs;
  n.cfg->metrics = n.metrics.get();
  n.cfg->seed = node_seed;
  if (opts_.configure) {
    opts_.configure(*n.cfg);
  }
  n.sys = std::make_unique<caf::actor_system>(*n.cfg);
  n.sched
    = &dynamic_cast<caf::scheduler::test_coordinator&>(n.sys->scheduler());
  n.sched->clock().current_time = caf::actor_clock::time_point{clock_base}
                                  + now_;
  n.up = true;
  n.frozen = false;
  auto ctx = cluster::make_context(cfg, *identity, n.logs, n.metrics.get(),
                                   node_seed);
  if (!ctx) {
    tear_down(n);
    return std::move(ctx.error());
  }
  n.ctx = *ctx;
  if (opts_.capabilities) {
    auto extra = opts_.capabilities(i);
    n.ctx->capabilities.insert(extra.begin(), extra.end());
  }
  auto nonces = std::make_shared<std::mt19937_64>(
    stream(opts_.seed, "nonce", i * 1'000'003 + n.boots));
  n.ctx->random_bytes = [nonces](std::size_t count) {
    std::string out(count, '\0');
    for (auto& c : out) {
      c = static_cast<char>((*nonces)() & 0xff);
    }
    return out;
  };
  transport_site site{
    .net = net_.get(), .now = &now_, .node = i, .life = n.life};
  n.ctx->transport_factory = [site](caf::actor_system& sys,
                                    const cluster::context_ptr& c,
                                    const caf::actor& owner) {
    return spawn_sim_transport(sys, c, owner, site);
  };
  if (opts_.kinds) {
    for (auto& k : opts_.kinds(i)) {
      n.ctx->kinds->add(std::move(k));
    }
  }
  auto root = supervision::spawn_supervisor(
    *n.sys, {.strategy = supervision::strategy::one_for_one}, {});
  if (!root) {
    tear_down(n);
    return std::move(root.error());
  }
  n.root = *root;
  n.stop_requested = std::make_shared<bool>(false);
  n.controller = supervision::spawn_application_controller(
    *n.sys,
    {.root = n.root, .stop_node = [flag = n.stop_requested](const caf::error&) {
       *flag = true;
     }});
  std::vector<supervision::application_spec> apps;
  apps.push_back(cluster::make_cluster_application(n.ctx));
  if (opts_.applications) {
    for (auto& a : opts_.applications(i)) {
      apps.push_back(std::move(a));
    }
  }
  n.started = std::make_shared<std::optional<caf::error>>();
  // The start, one step after the other, as an actor of the node.
  auto starter = n.sys->spawn(
    [root = n.root, ctl = n.controller, apps = std::move(apps),
     outcome = n.started](caf::event_based_actor* self) {
      auto fail = [self, outcome](caf::error& err) {
        *outcome = std::move(err);
        self->quit();
      };
      // Loads and starts application k, then k + 1. The step holds itself
      // weakly (the pending handlers hold it strongly): no cycle.
      auto next = std::make_shared<std::function<void(std::size_t)>>();
      std::weak_ptr<std::function<void(std::size_t)>> weak = next;
      *next = [self, ctl, apps, outcome, fail, weak](std::size_t k) {
        if (k == apps.size()) {
          *outcome = caf::error{};
          self->quit();
          return;
        }
        self
          ->request(ctl, caf::infinite, supervision::load_app_atom::value,
                    apps[k])
          .then(
            [self, ctl, apps, k, fail, next = weak.lock()] {
              self
                ->request(ctl, caf::infinite,
                          supervision::ensure_apps_atom::value, apps[k].name)
                .then([next,
                       k](const std::vector<std::string>&) { (*next)(k + 1); },
                      fail);
            },
            fail);
      };
      self->request(root, caf::infinite, actors::init_atom::value)
        .then([next](caf::atom_value) { (*next)(0); }, fail);
    });
  n.helpers.push_back(starter.address());
  touch(i);
  return {};
}

// Terminates every actor of the node, then its actor system (nothing it
// does reaches the network any more: the caller has retired its life).
void world::tear_down(node_slot& n) {
  if (n.sys) {
    if (n.controller) {
      caf::anon_send_exit(n.controller, caf::exit_reason::kill);
    }
    if (n.root) {
      caf::anon_send_exit(n.root, caf::exit_reason::kill);
    }
    for (const auto& h : n.helpers) {
      if (auto a = caf::actor_cast<caf::actor>(h)) {
        caf::anon_send_exit(a, caf::exit_reason::kill);
      }
    }
    n.helpers.clear();
    n.controller = nullptr;
    n.root = nullptr;
    // Kill what the tree's exit left running, until nothing runs.
    for (int round = 0; round < 100; ++round) {
      while (n.sched->try_run_once()) {
        ++events_;
      }
      n.sched->clock().cancel_all();
      if (n.sys->registry().running() == 0) {
        break;
      }
      n.sched->run();
    }
    if (n.sys->registry().running() != 0) {
      throw std::logic_error(
        fmt::format("{}: {} actors still run after the node was stopped",
                    n.name, n.sys->registry().running()));
    }
    n.sched->clock().cancel_all();
    n.sys.reset();
  }
  n.sched = nullptr;
  n.ctx.reset();
  n.cfg.reset();
  n.metrics.reset();
  if (n.logs) {
    n.logs->flush();
  }
  n.logs.reset();
  n.lock.reset();
  n.up = false;
  n.frozen = false;
  n.stopping = false;
  n.exits_sent = false;
  touch(n.index);
}

void world::retire(std::size_t i, bool crashed) {
  auto& n = *nodes_.at(i);
  record(fmt::format("node n{} {}", i + 1, crashed ? "crash" : "stopped"));
  if (crashed && n.ctx) {
    n.ctx->abrupt_stop = true;
  }
  net_->crash(i, now_);
  tear_down(n);
}

// A disk that lied: the cluster state file keeps only its first half.
void world::tear_state(std::size_t i) {
  auto path = nodes_.at(i)->dir / cluster::state_file_name;
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    record(fmt::format("tear n{}: no {}", i + 1, cluster::state_file_name));
    return;
  }
  std::filesystem::resize_file(path, size / 2, ec);
  record(fmt::format("tear n{}: {} cut from {} to {} bytes", i + 1,
                     cluster::state_file_name, size, size / 2));
}

void world::crash(std::size_t i) {
  if (!nodes_.at(i)->up) {
    record(fmt::format("skip crash n{}: not running", i + 1));
    return;
  }
  retire(i, true);
}

void world::stop(std::size_t i) {
  begin_stop(i);
  run_until([this, i] { return !nodes_[i]->up; }, 120s);
}

// Applications in reverse start order (the cluster says goodbye), then the
// rest of the tree; `progress_stops` carries it on as the world runs.
void world::begin_stop(std::size_t i) {
  auto& n = *nodes_.at(i);
  if (!n.up || n.stopping) {
    record(fmt::format("skip stop n{}: {}", i + 1,
                       n.up ? "stopping already" : "not running"));
    return;
  }
  record(fmt::format("node n{} stop", i + 1));
  if (n.frozen) {
    resume(i);
  }
  n.stopping = true;
  n.exits_sent = false;
  n.apps_stopped = std::make_shared<std::optional<caf::error>>();
  auto hdl = n.sys->spawn(
    [ctl = n.controller, box = n.apps_stopped](caf::event_based_actor* self) {
      self->request(ctl, caf::infinite, supervision::stop_apps_atom::value)
        .then(
          [box, self] {
            *box = caf::error{};
            self->quit();
          },
          [box, self](caf::error& err) {
            *box = std::move(err);
            self->quit();
          });
    });
  n.helpers.push_back(hdl.address());
}

bool world::progress_stops() {
  bool progressed = false;
  for (auto& slot : nodes_) {
    auto& n = *slot;
    if (!n.up || !n.stopping) {
      continue;
    }
    if (!n.exits_sent && n.apps_stopped->has_value()) {
      if (**n.apps_stopped) {
        record(fmt::format("node n{} stop: {}", n.index + 1,
                           runtime::describe(**n.apps_stopped)));
      }
      // The root supervisor stops in order on request (it ignores exit
      // signals from anyone but a parent).
      caf::anon_send_exit(n.controller, caf::exit_reason::user_shutdown);
      caf::anon_send(n.root, actors::stop_atom::value,
                     caf::error{caf::exit_reason::user_shutdown});
      n.exits_sent = true;
      progressed = true;
    } else if (n.exits_sent && n.sys->registry().running() == 0) {
      n.stopping = false;
      retire(n.index, false);
      if (n.restart_after_stop) {
        n.restart_after_stop = false;
        restart(n.index);
      }
      progressed = true;
    }
  }
  return progressed;
}

void world::restart(std::size_t i) {
  std::vector<std::size_t> through;
  for (auto j : running_nodes()) {
    if (j != i) {
      through.push_back(j);
    }
  }
  if (auto err = boot(i, through)) {
    record(
      fmt::format("restart n{} failed: {}", i + 1, runtime::describe(err)));
  }
}

void world::freeze(std::size_t i) {
  auto& n = *nodes_.at(i);
  if (!n.up || n.frozen) {
    record(fmt::format("skip freeze n{}", i + 1));
    return;
  }
  record(fmt::format("node n{} freeze", i + 1));
  n.frozen = true;
  touch(i);
}

void world::resume(std::size_t i) {
  auto& n = *nodes_.at(i);
  if (!n.up || !n.frozen) {
    record(fmt::format("skip resume n{}", i + 1));
    return;
  }
  record(fmt::format("node n{} resume", i + 1));
  n.frozen = false;
  // Its clock jumps: every timer that came due meanwhile fires now.
  auto& clk = n.sched->clock();
  auto target = caf::actor_clock::time_point{clock_base} + now_;
  if (clk.current_time < target) {
    clk.advance_time(target - clk.current_time);
  }
  touch(i);
}

caf::error world::leave(std::size_t i) {
  record(fmt::format("node n{} leave", i + 1));
  return ask_membership(i, cluster::leave_atom::value);
}

caf::error world::join(std::size_t i, std::size_t through) {
  record(fmt::format("node n{} join through n{}", i + 1, through + 1));
  return ask_membership(i, cluster::join_atom::value,
                        runtime::to_string(nodes_.at(through)->address));
}

caf::error world::down(std::size_t i, std::size_t subject) {
  record(fmt::format("node n{} downs n{}", i + 1, subject + 1));
  return ask_membership(i, cluster::down_atom::value, node_id(subject));
}

caf::error world::drain(std::size_t i, bool on) {
  if (!running(i)) {
    return caf::make_error(caf::sec::invalid_argument, "not running");
  }
  record(fmt::format("node n{} {}", i + 1, on ? "drain" : "undrain"));
  caf::anon_send(context(i)->membership(), cluster::drain_atom::value, on);
  return {};
}

// -- the network --------------------------------------------------------------

void world::cut_count(std::size_t from, std::size_t to, int delta) {
  auto& c = cuts_[{from, to}];
  auto before = c;
  c += delta;
  if (before == 0 && c > 0) {
    net_->cut(from, to, now_);
  } else if (before > 0 && c <= 0) {
    c = 0;
    net_->restore(from, to, now_);
  }
}

void world::partition(const std::vector<std::vector<std::size_t>>& groups) {
  std::vector<std::size_t> group_of(nodes_.size(), SIZE_MAX);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (auto i : groups[g]) {
      group_of.at(i) = g;
    }
  }
  std::vector<std::string> text;
  for (const auto& g : groups) {
    text.push_back(fmt::format("{}", fmt::join(g, ",")));
  }
  record(fmt::format("net partition {}", fmt::join(text, "|")));
  for (std::size_t a = 0; a < nodes_.size(); ++a) {
    for (std::size_t b = 0; b < nodes_.size(); ++b) {
      bool apart = a != b
                   && (group_of[a] == SIZE_MAX || group_of[a] != group_of[b]);
      if (apart) {
        cut_count(a, b, 1);
        direct_cuts_.emplace_back(a, b);
      }
    }
  }
}

void world::heal() {
  record("net heal");
  for (auto [a, b] : direct_cuts_) {
    cut_count(a, b, -1);
  }
  direct_cuts_.clear();
}

void world::cut(std::size_t from, std::size_t to) {
  record(fmt::format("net cut {}>{}", from, to));
  cut_count(from, to, 1);
  direct_cuts_.emplace_back(from, to);
}

void world::restore(std::size_t from, std::size_t to) {
  record(fmt::format("net restore {}>{}", from, to));
  auto i = std::find(direct_cuts_.begin(), direct_cuts_.end(),
                     std::make_pair(from, to));
  if (i != direct_cuts_.end()) {
    direct_cuts_.erase(i);
    cut_count(from, to, -1);
  }
}

void world::reset(std::size_t a, std::size_t b) {
  record(fmt::format("net reset {}-{}", a, b));
  net_->reset_between(a, b, now_);
}

void world::slow(std::size_t a, std::size_t b, sim_time extra) {
  record(fmt::format("net slow {}-{} {}ns", a, b, extra.count()));
  net_->slow(a, b, extra);
}

// -- scheduled faults ---------------------------------------------------------

void world::schedule(const fault_schedule& s) {
  if (auto err = validate(s, nodes_.size())) {
    throw std::invalid_argument(runtime::describe(err));
  }
  for (const auto& f : s.faults) {
    faults_.emplace(now_ + f.at, std::make_pair(f, true));
  }
}

void world::apply(const fault& f, bool begin) {
  auto a = f.nodes.empty() ? 0 : f.nodes[0];
  auto b = f.nodes.size() < 2 ? 0 : f.nodes[1];
  auto ends = [&] {
    if (f.length.count() > 0) {
      faults_.emplace(now_ + f.length, std::make_pair(f, false));
    }
  };
  switch (f.kind) {
    case fault_kind::crash:
    case fault_kind::tear:
    case fault_kind::stop:
      if (begin) {
        if (!running(a)) {
          record(
            fmt::format("skip {} n{}: not running", to_string(f.kind), a + 1));
          return;
        }
        if (f.kind == fault_kind::stop) {
          begin_stop(a);
        } else {
          crash(a);
        }
        if (f.kind == fault_kind::tear) {
          tear_state(a);
        }
        ends();
      } else if (!running(a)) {
        restart(a);
      } else if (nodes_[a]->stopping) {
        nodes_[a]->restart_after_stop = true;
      }
      return;
    case fault_kind::freeze:
      if (begin) {
        freeze(a);
        ends();
      } else {
        resume(a);
      }
      return;
    case fault_kind::partition: {
      std::vector<std::size_t> group_of(nodes_.size(), SIZE_MAX);
      for (std::size_t g = 0; g < f.groups.size(); ++g) {
        for (auto i : f.groups[g]) {
          group_of[i] = g;
        }
      }
      record(fmt::format("net {} partition {}", begin ? "begin" : "end",
                         to_string(fault_schedule{{f}})));
      for (std::size_t x = 0; x < nodes_.size(); ++x) {
        for (std::size_t y = 0; y < nodes_.size(); ++y) {
          if (x != y
              && (group_of[x] == SIZE_MAX || group_of[x] != group_of[y])) {
            cut_count(x, y, begin ? 1 : -1);
          }
        }
      }
      if (begin) {
        ends();
      }
      return;
    }
    case fault_kind::cut:
      record(fmt::format("net {} cut {}>{}", begin ? "begin" : "end", a, b));
      cut_count(a, b, begin ? 1 : -1);
      if (begin) {
        ends();
      }
      return;
    case fault_kind::reset:
      reset(a, b);
      return;
    case fault_kind::slow:
      slow(a, b, begin ? f.extra : sim_time{0});
      if (begin) {
        ends();
      }
      return;
    case fault_kind::leave:
      if (begin) {
        if (!running(a)) {
          record(fmt::format("skip leave n{}: not running", a + 1));
          return;
        }
        if (auto st = status_seen_by(a, a); st != "up") {
          // Leaving already, or still joining: an operator waits for up.
          record(fmt::format("skip leave n{}: {}", a + 1, st));
          return;
        }
        record(fmt::format("node n{} leave", a + 1));
        caf::anon_send(context(a)->membership(), cluster::leave_atom::value);
        nodes_[a]->leave_deadline = now_ + f.length + leave_patience;
        ends();
      } else if (running(a) && status_seen_by(a, a) == "leaving"
                 && now_ < nodes_[a]->leave_deadline) {
        // As an operator would, wait until it has handed everything off.
        faults_.emplace(now_ + std::chrono::milliseconds{250},
                        std::make_pair(f, false));
      } else if (running(a)) {
        // Back from its data directory: stop, then start again.
        nodes_[a]->restart_after_stop = true;
        begin_stop(a);
      } else {
        restart(a);
      }
      return;
    case fault_kind::drain:
      if (running(a)) {
        static_cast<void>(drain(a, begin));
      }
      if (begin) {
        ends();
      }
      return;
  }
}

void world::run_due_faults() {
  while (!faults_.empty() && faults_.begin()->first <= now_) {
    auto [f, begin] = faults_.begin()->second;
    faults_.erase(faults_.begin());
    apply(f, begin);
    touch_all(); // a fault may start, stop or message any node
  }
}

// -- running ------------------------------------------------------------------

void world::touch(std::size_t i) {
  candidates_.insert(i);
  timer_dirty_.insert(i);
}

void world::touch_all() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    touch(i);
  }
}

void world::refresh_timers() {
  for (auto i : timer_dirty_) {
    auto& slot = timer_of_[i];
    if (slot) {
      timers_.erase({*slot, i});
      slot.reset();
    }
    const auto& n = *nodes_[i];
    if (n.up && !n.frozen) {
      const auto& sched = n.sched->clock().schedule();
      if (!sched.empty()) {
        slot = sched.begin()->first;
        timers_.insert({*slot, i});
      }
    }
  }
  timer_dirty_.clear();
}

// A node's clock shows the world's time before its actors run (it moves on
// lazily: nothing of it was due in between).
void world::sync_clock(node_slot& n) {
  auto& clk = n.sched->clock();
  auto target = caf::actor_clock::time_point{clock_base} + now_;
  if (clk.current_time < target) {
    clk.advance_time(target - clk.current_time);
  }
}

bool world::run_one_job() {
  // The nodes with ready messages, and how many each has.
  runnable_.clear();
  std::size_t total = 0;
  for (auto i = candidates_.begin(); i != candidates_.end();) {
    auto& n = *nodes_[*i];
    if (!n.up || n.frozen || n.sched->jobs.empty()) {
      i = candidates_.erase(i);
      continue;
    }
    runnable_.push_back(&n);
    total += n.sched->jobs.size();
    ++i;
  }
  if (total == 0) {
    return false;
  }
  auto pick = std::uniform_int_distribution<std::size_t>{0,
                                                         total - 1}(sched_rng_);
  for (auto* n : runnable_) {
    auto& jobs = n->sched->jobs;
    if (pick >= jobs.size()) {
      pick -= jobs.size();
      continue;
    }
    if (pick != 0) {
      auto* job = jobs[pick];
      jobs.erase(jobs.begin() + static_cast<std::ptrdiff_t>(pick));
      jobs.push_front(job);
    }
    std::uint64_t who[2] = {n->index, 0};
    if (auto* a = dynamic_cast<caf::abstract_actor*>(jobs.front())) {
      who[1] = a->id();
    }
    hash_bytes(who, sizeof(who));
    ++events_;
    sync_clock(*n);
    n->sched->run_once();
    timer_dirty_.insert(n->index);
    if (n->stop_requested && *n->stop_requested && n->up) {
      // A permanent application exited: the node stops, as its owner would
      // stop a real one.
      *n->stop_requested = false;
      record(fmt::format("node n{} stops: a permanent application exited",
                         n->index + 1));
      begin_stop(n->index);
    }
    return true;
  }
  return false;
}

void world::dispatch(network::event& ev) {
  ++events_;
  std::uint64_t head[4] = {static_cast<std::uint64_t>(ev.what), ev.node, ev.end,
                           ev.bytes.size()};
  hash_bytes(head, sizeof(head));
  hash_bytes(ev.bytes.data(), ev.bytes.size());
  auto& n = *nodes_.at(ev.node);
  caf::actor transport;
  if (n.up && n.ctx) {
    transport = n.ctx->transport();
  }
  using kind = network::event::kind;
  if (!transport) {
    // The node's transport is restarting (or the node is gone): a
    // connection that arrives now finds nobody.
    if (ev.what == kind::accepted || ev.what == kind::connected) {
      net_->close(ev.end, now_);
    }
    return;
  }
  candidates_.insert(ev.node);
  switch (ev.what) {
    case kind::accepted:
      caf::anon_send(transport, accepted_atom::value, ev.end);
      return;
    case kind::connected:
      caf::anon_send(transport, connected_atom::value, ev.end, ev.target);
      return;
    case kind::dial_failed:
      caf::anon_send(transport, dial_failed_atom::value, ev.target);
      return;
    case kind::data:
      caf::anon_send(transport, data_atom::value, ev.end, std::move(ev.bytes));
      return;
    case kind::closed:
      caf::anon_send(transport, closed_atom::value, ev.end);
      return;
  }
}

// Runs everything due now: faults, deliveries, and every ready message
// (in an order the seed decides), until nothing is ready.
void world::settle() {
  std::uint64_t jobs = 0;
  for (;;) {
    run_due_faults();
    while (auto ev = net_->pop_due(now_)) {
      dispatch(*ev);
    }
    if (!run_one_job()) {
      if (progress_stops()) {
        touch_all();
        continue;
      }
      if (!faults_.empty() && faults_.begin()->first <= now_) {
        continue;
      }
      break;
    }
    if (++jobs > max_jobs_per_instant) {
      throw std::runtime_error(fmt::format(
        "no progress in virtual time: over {} messages at {} s (a livelock)",
        max_jobs_per_instant, seconds(now_)));
    }
  }
  run_checks();
}

std::optional<sim_time> world::next_event() {
  std::optional<sim_time> next = net_->next_due();
  auto consider = [&next](sim_time t) {
    if (!next || t < *next) {
      next = t;
    }
  };
  if (!faults_.empty()) {
    consider(faults_.begin()->first);
  }
  refresh_timers();
  if (!timers_.empty()) {
    auto base = caf::actor_clock::time_point{clock_base};
    consider(std::max(now_, std::chrono::duration_cast<sim_time>(
                              timers_.begin()->first - base)));
  }
  return next;
}

// Moves the world to `t`: the nodes with timers due by then fire them (the
// others' clocks catch up when their actors next run).
void world::advance_to(sim_time t) {
  if (t < now_) {
    return;
  }
  now_ = t;
  auto target = caf::actor_clock::time_point{clock_base} + now_;
  refresh_timers();
  std::vector<std::size_t> due;
  for (const auto& [when, i] : timers_) {
    if (when > target) {
      break;
    }
    due.push_back(i);
  }
  for (auto i : due) {
    auto& n = *nodes_[i];
    if (n.up && !n.frozen) {
      sync_clock(n);
    }
    touch(i);
  }
}

void world::run_for(sim_time d) {
  auto until = now_ + d;
  touch_all(); // the test may have sent to any node meanwhile
  settle();
  for (;;) {
    auto next = next_event();
    if (!next || *next > until) {
      advance_to(until);
      settle();
      return;
    }
    advance_to(*next);
    settle();
  }
}

bool world::run_until(const std::function<bool()>& condition, sim_time limit) {
  auto until = now_ + limit;
  touch_all(); // the test may have sent to any node meanwhile
  settle();
  for (;;) {
    if (condition()) {
      return true;
    }
    auto next = next_event();
    if (!next || *next > until) {
      advance_to(until);
      settle();
      return condition();
    }
    advance_to(*next);
    settle();
  }
}

// -- observation --------------------------------------------------------------

std::shared_ptr<const cluster::cluster_snapshot>
world::cluster_state(std::size_t i) const {
  const auto& n = *nodes_.at(i);
  if (!n.up || !n.ctx) {
    return nullptr;
  }
  return n.ctx->cluster_state();
}

std::string world::status_seen_by(std::size_t observer,
                                  std::size_t subject) const {
  auto st = cluster_state(observer);
  if (!st) {
    return "unknown";
  }
  const auto* m = st->gossip.state.find(node_id(subject));
  return m == nullptr ? "unknown" : cluster::to_string(m->status);
}

bool world::unreachable_seen_by(std::size_t observer,
                                std::size_t subject) const {
  auto st = cluster_state(observer);
  return st && st->gossip.state.is_unreachable(node_id(subject));
}

bool world::converged() const {
  std::set<std::string> live;
  cluster_states states;
  for (auto i : running_nodes()) {
    live.insert(node_id(i));
    states.push_back(cluster_state(i));
  }
  return all_converged(states, live);
}

std::int64_t world::gauge(std::size_t i, std::string_view name) const {
  const auto& n = *nodes_.at(i);
  if (!n.up || !n.metrics) {
    return 0;
  }
  return n.metrics->add_gauge(name, "").value();
}

std::uint64_t world::counter(std::size_t i, std::string_view name) const {
  const auto& n = *nodes_.at(i);
  if (!n.up || !n.metrics) {
    return 0;
  }
  return n.metrics->add_counter(name, "").value();
}

bool world::ring_settled() const {
  std::set<std::string> live;
  cluster_states states;
  for (auto i : running_nodes()) {
    if (nodes_[i]->frozen) {
      return false;
    }
    live.insert(node_id(i));
    states.push_back(cluster_state(i));
    if (gauge(i, "troupe_cluster_transfers") != 0
        || gauge(i, "troupe_cluster_partitions_awaited") != 0) {
      return false;
    }
  }
  return rings_agree(states, live);
}

bool world::quorum_everywhere() const {
  for (auto i : running_nodes()) {
    auto st = cluster_state(i);
    if (!st || !st->quorum.quorum) {
      return false;
    }
  }
  return true;
}

std::map<std::string, std::vector<std::size_t>> world::activations() const {
  std::map<std::string, std::vector<std::size_t>> out;
  for (auto i : running_nodes()) {
    for (const auto& [name, actor] : nodes_[i]->ctx->names->serving()) {
      out[name].push_back(i);
    }
  }
  return out;
}

caf::error world::send(std::size_t i, const std::string& name,
                       caf::message msg) {
  return router(i).send(name, std::move(msg));
}

} // namespace troupe::testkit::sim

// The node assembly: data directory, logging, identity and actor system.
#include "node.hpp"

#include "../actors/console_commands.hpp"
#include "../cluster/capabilities.hpp"
#include "../cluster/console_commands.hpp"
#include "../cluster/errors.hpp"
#include "../cluster/router.hpp"
#include "../runtime/build_info.hpp"
#include "../runtime/errors.hpp"
#include "../runtime/secret_file.hpp"
#include "../runtime/system_config.hpp"
#include "../supervision/console_commands.hpp"
#include "../supervision/errors.hpp"
#include "../supervision/supervisor.hpp"
#include "../supervision/supervisor_client.hpp"
#include "console_server.hpp"
#include "http_server.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>

#include <map>
#include <random>

namespace troupe {

// The actor system and the configuration it keeps a reference to.
struct node::impl {
  impl(const runtime::node_config& node_cfg,
       std::shared_ptr<runtime::log_context> logs,
       std::shared_ptr<runtime::crash_log> crashes,
       runtime::metrics_registry* metrics, std::uint64_t seed,
       const std::function<void(caf::actor_system_config&)>& add_types) {
    cfg.apply(node_cfg);
    cfg.seed = seed;
    cluster::add_cluster_types(cfg);
    if (add_types) {
      add_types(cfg);
    }
    cfg.logs = std::move(logs);
    cfg.crashes = std::move(crashes);
    cfg.metrics = metrics;
    system.emplace(cfg);
  }
  runtime::system_config cfg;
  std::optional<caf::actor_system> system;
};

namespace {

std::string join_list(const std::vector<runtime::endpoint>& seeds) {
  std::string out;
  for (const auto& ep : seeds) {
    out += out.empty() ? "" : ",";
    out += runtime::to_string(ep);
  }
  return out.empty() ? "none" : out;
}

} // namespace

caf::expected<std::unique_ptr<node>> node::start(runtime::node_config cfg,
                                                 options opts) {
  auto lock = runtime::data_dir_lock::acquire(cfg.data_dir);
  if (!lock) {
    return std::move(lock.error());
  }
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir / "log", ec);
  if (ec) {
    return caf::make_error(runtime::errc::data_dir_unusable,
                           fmt::format("cannot create {}: {}",
                                       (cfg.data_dir / "log").string(),
                                       ec.message()));
  }
  auto logs = runtime::log_context::make({
    .node = cfg.name,
    .level = cfg.level,
    .console = opts.console_log,
    .file = cfg.data_dir / "log" / "node.log",
    .max_file_bytes = cfg.log_max_file_bytes,
    .max_files = cfg.log_max_files,
    .extra_sinks = std::move(opts.extra_sinks),
  });
  if (!logs) {
    return std::move(logs.error());
  }
  auto log = (*logs)->get("apps", "node");
  log->info("event=node.boot name={} {}", cfg.full_name(),
            runtime::to_log_line(runtime::this_build()));
  auto seed = opts.seed ? *opts.seed : std::random_device{}();
  std::mt19937_64 rng{seed};
  auto identity = runtime::boot_identity(cfg.data_dir, rng);
  if (!identity) {
    log->error("event=node.abort reason=\"{}\"",
               runtime::describe(identity.error()));
    return std::move(identity.error());
  }
  if (identity->set_aside_file) {
    log->error("event=identity.corrupt moved_to={} action=new_identity",
               identity->set_aside_file->string());
  }
  log->info("event=node.identity node_id={} incarnation={} first_boot={}",
            identity->node_id, identity->incarnation, identity->first_boot);
  std::unique_ptr<node> self{new node(std::move(cfg), std::move(*lock),
                                      std::move(*logs), std::move(*identity))};
  self->seed_ = seed;
  self->kinds_ = std::move(opts.kinds);
  self->capabilities_ = std::move(opts.capabilities);
  if (auto err = self->start_system(opts.add_message_types)) {
    log->error("event=node.abort reason=\"{}\"", runtime::describe(err));
    self->stop("start failed");
    return err;
  }
  if (auto err = self->start_applications(std::move(opts.applications))) {
    log->error("event=node.abort reason=\"{}\"", runtime::describe(err));
    self->stop("an application failed to start");
    return err;
  }
  return self;
}

node::node(runtime::node_config cfg, runtime::data_dir_lock lock,
           std::shared_ptr<runtime::log_context> logs,
           runtime::node_identity identity)
  : cfg_(std::move(cfg)), lock_(std::move(lock)), logs_(std::move(logs)),
    identity_(std::move(identity)), names_(actors::name_registry::make()) {}

caf::error node::start_system(
  const std::function<void(caf::actor_system_config&)>& add_types) {
  auto log = logs_->get("apps", "node");
  auto crashes = runtime::crash_log::open(
    cfg_.data_dir / "log", cfg_.log_max_file_bytes, cfg_.log_max_files);
  if (!crashes) {
    return std::move(crashes.error());
  }
  auto ctx = cluster::make_context(cfg_, identity_, logs_, &metrics_, seed_);
  if (!ctx) {
    return std::move(ctx.error());
  }
  cluster_ctx_ = *ctx;
  if (auto err = cluster::check_capabilities(capabilities_)) {
    return err;
  }
  cluster_ctx_->capabilities.insert(capabilities_.begin(), capabilities_.end());
  for (auto& k : kinds_) {
    cluster_ctx_->kinds->add(std::move(k));
  }
  kinds_.clear();
  impl_ = std::make_unique<impl>(cfg_, logs_, *crashes, &metrics_, seed_,
                                 add_types);
  auto root = supervision::start_supervisor(
    *impl_->system, {.strategy = supervision::strategy::one_for_one}, {});
  if (!root) {
    return std::move(root.error());
  }
  root_ = *root;
  node* owner = this;
  app_controller_ = supervision::spawn_application_controller(
    *impl_->system,
    {.root = root_, .stop_node = [owner](const caf::error& failure) {
       owner->request_stop(
         {.reason = runtime::describe(failure), .failure = failure});
     }});
  const auto& build = runtime::this_build();
  metrics_
    .add_gauge("troupe_build_info", "Version and commit of this build",
               {{"version", std::string{build.version}},
                {"commit", std::string{build.commit}}})
    .set(1);
  metrics_.add_gauge("troupe_node_incarnation", "Boots of this node identity")
    .set(static_cast<std::int64_t>(identity_.incarnation));
  started_ = std::chrono::steady_clock::now();
  auto client = applications();
  if (auto err = client.load(cluster::make_cluster_application(cluster_ctx_))) {
    return err;
  }
  if (auto err = client.start("cluster")) {
    return err;
  }
  if (auto err = add_console_commands(*crashes)) {
    return err;
  }
  if (auto err = start_console()) {
    return err;
  }
  if (auto err = start_http()) {
    return err;
  }
  log->info(
    "event=node.start name={} listen={}:{} advertise={} data_dir={} join={}",
    cfg_.full_name(), cfg_.listen.host, listen_port(), advertised(),
    cfg_.data_dir.string(), join_list(cfg_.join));
  return {};
}

caf::error
node::start_applications(std::vector<supervision::application_spec> apps) {
  auto client = applications();
  std::vector<std::string> names;
  for (auto& spec : apps) {
    names.push_back(spec.name);
    if (auto err = client.load(std::move(spec))) {
      return err;
    }
  }
  for (const auto& name : names) {
    if (auto started = client.ensure_all_started(name); !started) {
      return std::move(started.error());
    }
  }
  return {};
}

supervision::application_client node::applications() {
  return {*impl_->system, app_controller_};
}

void node::request_stop(stop_request request) {
  {
    std::lock_guard<std::mutex> guard{stop_mtx_};
    if (stop_request_) {
      return;
    }
    stop_request_ = std::move(request);
  }
  stop_cv_.notify_all();
}

std::optional<node::stop_request> node::await_stop_request(
  std::optional<std::chrono::steady_clock::time_point> deadline) {
  std::unique_lock<std::mutex> guard{stop_mtx_};
  auto requested = [this] { return stop_request_.has_value(); };
  if (deadline) {
    stop_cv_.wait_until(guard, *deadline, requested);
  } else {
    stop_cv_.wait(guard, requested);
  }
  return stop_request_;
}

node::~node() {
  stop("node destroyed");
}

void node::stop(std::string_view reason) {
  if (impl_ == nullptr) {
    return;
  }
  auto log = logs_->get("apps", "node");
  log->info("event=node.stop reason=\"{}\"", reason);
  stopping_ = true;
  // Observers first: their commands need the actor system.
  http_.reset();
  console_server_.reset();
  if (app_controller_) {
    if (auto err = applications().stop_all()) {
      log->error("event=app.stop_failed reason=\"{}\"",
                 impl_->system->render(err));
    }
    caf::anon_send_exit(app_controller_, caf::exit_reason::user_shutdown);
    app_controller_ = nullptr;
  }
  if (root_) {
    supervision::supervisor_client tree{*impl_->system, root_};
    if (auto err = tree.stop(caf::exit_reason::user_shutdown)) {
      log->error("event=sup.stop_failed reason=\"{}\"",
                 impl_->system->render(err));
    }
    root_ = nullptr;
    log->info("event=sup.stopped supervisor=root");
  }
  impl_.reset(); // waits until every actor has terminated
  log->info("event=node.stopped name={} incarnation={}", cfg_.full_name(),
            identity_.incarnation);
  logs_->flush();
}

cluster::cluster_client node::cluster() {
  return {*impl_->system, cluster_ctx_};
}

cluster::router_client node::router() {
  return {*impl_->system, cluster_ctx_};
}

void node::crash() {
  if (cluster_ctx_) {
    cluster_ctx_->abrupt_stop = true;
  }
  stop("simulated crash");
}

caf::error
node::add_console_commands(std::shared_ptr<runtime::crash_log> crashes) {
  if (auto err = actors::add_runtime_commands(console_,
                                              {.logs = logs_.get(),
                                               .crashes = std::move(crashes),
                                               .metrics = &metrics_})) {
    return err;
  }
  if (auto err = supervision::add_supervision_commands(
        console_,
        {.system = &*impl_->system, .root = root_, .names = names_})) {
    return err;
  }
  if (auto err = cluster::add_cluster_commands(console_, *impl_->system,
                                               cluster_ctx_, names_)) {
    return err;
  }
  return console_.add(
    {.name = "status",
     .usage = "",
     .summary = "name, id, incarnation, uptime, version, "
                "member status and load of this node",
     .destructive = false,
     .max_args = 0,
     .handler = [this](const actors::console_call&) { return status(); }});
}

caf::error node::start_console() {
  console_server::options opts{
    .socket_path = console_socket(),
    .tcp = cfg_.observe.console_tcp,
    .token = {},
    .log = logs_->get("apps", "console"),
  };
  if (opts.tcp) {
    auto token = runtime::load_secret_file(console_token_file(),
                                           "console token");
    if (!token) {
      return std::move(token.error());
    }
    opts.token = std::move(*token);
  }
  auto server = console_server::start(std::move(opts), console_);
  if (!server) {
    return std::move(server.error());
  }
  console_server_ = std::move(*server);
  return {};
}

caf::error node::start_http() {
  if (!cfg_.observe.http) {
    return {};
  }
  auto server = http_server::start(
    *cfg_.observe.http,
    {.metrics = [this] { return metrics_.render_prometheus(); },
     .status_json = [this] { return status().data.dump(2) + "\n"; },
     .health = [this] { return health(); }},
    logs_->get("apps", "http"));
  if (!server) {
    return std::move(server.error());
  }
  http_ = std::move(*server);
  return {};
}

std::string node::advertised() const {
  return runtime::to_string(cluster_ctx_ ? cluster_ctx_->advertised
                                         : cfg_.advertised());
}

std::uint16_t node::console_port() const {
  return console_server_ ? console_server_->tcp_port() : 0;
}

std::uint16_t node::http_port() const {
  return http_ ? http_->port() : 0;
}

namespace {

std::string format_uptime(std::chrono::steady_clock::duration d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s < 60) {
    return fmt::format("{}s", s);
  }
  if (s < 3600) {
    return fmt::format("{}m{:02}s", s / 60, s % 60);
  }
  return fmt::format("{}d{:02}h{:02}m", s / 86400, (s / 3600) % 24,
                     (s / 60) % 60);
}

} // namespace

actors::console_reply node::status() {
  using namespace std::chrono_literals;
  const auto& b = runtime::this_build();
  auto up = uptime();
  nlohmann::json data{
    {"name", cfg_.full_name()},
    {"node_id", identity_.node_id},
    {"incarnation", identity_.incarnation},
    {"uptime_ms",
     std::chrono::duration_cast<std::chrono::milliseconds>(up).count()},
    {"version", b.version},
    {"git_describe", b.git_describe},
    {"commit", b.commit},
    {"build_type", b.build_type},
    {"listen", fmt::format("{}:{}", cfg_.listen.host, listen_port())},
    {"advertise", advertised()},
    {"data_dir", cfg_.data_dir.string()},
  };
  auto text = fmt::format(
    "node        {}\nid          {}\nincarnation {}\nuptime      {}\n"
    "version     {} ({}, {})\nlisten      {}:{}\nadvertise   {}\n"
    "data dir    {}",
    cfg_.full_name(), identity_.node_id, identity_.incarnation,
    format_uptime(up), b.version, b.git_describe, b.build_type,
    cfg_.listen.host, listen_port(), advertised(), cfg_.data_dir.string());
  auto cl = cluster();
  cl.request_timeout(2s);
  if (auto views = cl.members()) {
    std::map<std::string, int> by_status;
    for (const auto& v : *views) {
      ++by_status[cluster::to_string(v.info.status)];
      if (v.self) {
        auto st = cluster::to_string(v.info.status);
        bool draining = v.info.announcement.draining;
        text += fmt::format("\nmember      {}{}{}", st,
                            v.leader ? " (leader)" : "",
                            draining ? ", draining" : "");
        data["member_status"] = st;
        data["leader"] = v.leader;
        data["draining"] = draining;
      }
    }
    std::string counts;
    for (const auto& [st, n] : by_status) {
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, st);
    }
    text += fmt::format("\ncluster     {} members ({})", views->size(), counts);
    data["members"] = by_status;
  } else {
    text += fmt::format("\ncluster     not answering: {}",
                        system().render(views.error()));
    data["member_status"] = nullptr;
  }
  auto running = system().registry().running();
  auto routed = router();
  auto stats = routed.stats();
  text += fmt::format("\nload        {} actors, {} virtual actors", running,
                      stats ? std::to_string(stats->running) : "?");
  data["actors"] = running;
  data["virtual_actors"] = stats ? nlohmann::json(stats->running) : nullptr;
  auto [serving, why] = health();
  text += fmt::format("\nhealth      {}", why);
  data["serving"] = serving;
  data["health"] = why;
  return actors::console_reply::success(std::move(text), std::move(data));
}

std::pair<bool, std::string> node::health() {
  using namespace std::chrono_literals;
  if (stopping_) {
    return {false, "stopping"};
  }
  auto cl = cluster();
  cl.request_timeout(2s);
  auto views = cl.members();
  if (!views) {
    return {false, "the cluster layer does not answer: "
                     + system().render(views.error())};
  }
  for (const auto& v : *views) {
    if (!v.self) {
      continue;
    }
    if (v.info.announcement.draining) {
      return {false, "draining"};
    }
    if (v.info.status != cluster::member_status::up) {
      return {false, "member status " + cluster::to_string(v.info.status)};
    }
    // The minority side of a partition serves no names: traffic belongs
    // on the other side.
    if (auto snap = cl.snapshot(); snap && !snap->quorum.quorum) {
      return {false, fmt::format("no quorum ({} of {} members reachable)",
                                 snap->quorum.reachable, snap->quorum.members)};
    }
    return {true, "serving"};
  }
  return {false, "not a member yet"};
}

caf::actor_system& node::system() {
  return *impl_->system;
}

std::chrono::steady_clock::duration node::uptime() const {
  return std::chrono::steady_clock::now() - started_;
}

} // namespace troupe

// In-process multi-node clusters for tests.
#include "troupe/testkit/cluster_harness.hpp"

#include "troupe/testkit/cluster_agreement.hpp"

#include "troupe/testkit/wait.hpp"

#include <algorithm>
#include <caf/sec.hpp>
#include <fmt/format.h>

#include <set>

namespace troupe::testkit {

runtime::cluster_config fast_cluster_settings() {
  runtime::cluster_config c;
  c.gossip_interval = std::chrono::milliseconds{50};
  c.heartbeat_interval = std::chrono::milliseconds{50};
  c.acceptable_pause = std::chrono::milliseconds{200};
  c.down_after = std::chrono::milliseconds{1000};
  return c;
}

cluster_harness::cluster_harness(options opts)
  : opts_(std::move(opts)), nodes_(opts_.nodes) {}

cluster_harness::~cluster_harness() {
  for (auto i = nodes_.size(); i > 0; --i) {
    stop(i - 1);
  }
}

caf::error cluster_harness::start_all() {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!running(i)) {
      if (auto err = start(i)) {
        return err;
      }
    }
  }
  return {};
}

caf::error cluster_harness::start(std::size_t i) {
  std::vector<std::size_t> all;
  for (std::size_t j = 0; j < nodes_.size(); ++j) {
    all.push_back(j);
  }
  return start(i, all);
}

caf::error cluster_harness::start(std::size_t i,
                                  const std::vector<std::size_t>& through) {
  auto& s = nodes_.at(i);
  if (s.n) {
    return {};
  }
  runtime::node_config cfg;
  cfg.name = fmt::format("n{}", i);
  cfg.listen = {.host = "127.0.0.1", .port = s.port};
  cfg.data_dir = dir_.path() / cfg.name;
  cfg.level = opts_.level;
  cfg.scheduler_threads = opts_.threads;
  cfg.cluster = opts_.cluster;
  for (auto j : through) {
    if (j != i && j < nodes_.size() && nodes_[j].n) {
      cfg.join.push_back({.host = "127.0.0.1", .port = nodes_[j].port});
    }
  }
  std::vector<supervision::application_spec> apps;
  if (opts_.applications) {
    apps = opts_.applications(i);
  }
  // No fixed seed: node ids must differ across harnesses too.
  std::vector<cluster::actor_kind> kinds;
  if (opts_.kinds) {
    kinds = opts_.kinds(i);
  }
  auto n = node::start(cfg, {.console_log = false,
                             .applications = std::move(apps),
                             .kinds = std::move(kinds),
                             .add_message_types = opts_.add_message_types});
  if (!n) {
    return std::move(n.error());
  }
  s.n = std::move(*n);
  s.port = s.n->listen_port();
  s.node_id = s.n->identity().node_id;
  apply_blocks();
  return {};
}

void cluster_harness::crash(std::size_t i) {
  if (auto& s = nodes_.at(i); s.n) {
    s.n->crash();
    s.n.reset();
  }
}

void cluster_harness::stop(std::size_t i) {
  if (auto& s = nodes_.at(i); s.n) {
    s.n->stop("test harness");
    s.n.reset();
  }
}

bool cluster_harness::running(std::size_t i) const {
  return nodes_.at(i).n != nullptr;
}

node& cluster_harness::at(std::size_t i) {
  return *nodes_.at(i).n;
}

const std::string& cluster_harness::node_id(std::size_t i) const {
  return nodes_.at(i).node_id;
}

void cluster_harness::partition(
  const std::vector<std::vector<std::size_t>>& groups) {
  groups_ = groups;
  apply_blocks();
}

void cluster_harness::heal() {
  groups_.clear();
  apply_blocks();
}

void cluster_harness::apply_blocks() {
  auto group_of = [this](std::size_t i) -> std::ptrdiff_t {
    for (std::size_t g = 0; g < groups_.size(); ++g) {
      for (auto x : groups_[g]) {
        if (x == i) {
          return static_cast<std::ptrdiff_t>(g);
        }
      }
    }
    return -1 - static_cast<std::ptrdiff_t>(i); // a group of its own
  };
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].n) {
      continue;
    }
    std::vector<std::string> blocked;
    if (!groups_.empty()) {
      for (std::size_t j = 0; j < nodes_.size(); ++j) {
        if (j != i && !nodes_[j].node_id.empty()
            && group_of(i) != group_of(j)) {
          blocked.push_back(nodes_[j].node_id);
        }
      }
    }
    // The transport may be restarting; retry until it takes the order.
    wait_until([&] { return !nodes_[i].n->cluster().block(blocked); },
               std::chrono::seconds{5});
  }
}

std::string cluster_harness::status_seen_by(std::size_t observer,
                                            std::size_t subject) {
  if (!running(observer)) {
    return "unknown";
  }
  auto members = at(observer).cluster().members();
  if (!members) {
    return "unknown";
  }
  for (const auto& m : *members) {
    if (m.info.node_id == node_id(subject)) {
      return cluster::to_string(m.info.status);
    }
  }
  return "unknown";
}

bool cluster_harness::unreachable_seen_by(std::size_t observer,
                                          std::size_t subject) {
  if (!running(observer)) {
    return false;
  }
  auto members = at(observer).cluster().members();
  if (!members) {
    return false;
  }
  for (const auto& m : *members) {
    if (m.info.node_id == node_id(subject)) {
      return m.unreachable;
    }
  }
  return false;
}

bool cluster_harness::converged() {
  std::set<std::string> live;
  cluster_states states;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!running(i)) {
      continue;
    }
    live.insert(node_id(i));
    auto snap = at(i).cluster().snapshot();
    if (!snap) {
      return false;
    }
    states.push_back(
      std::make_shared<const cluster::cluster_snapshot>(std::move(*snap)));
  }
  return all_converged(states, live);
}

bool cluster_harness::wait_for(const std::function<bool()>& condition,
                               std::chrono::milliseconds deadline) {
  return wait_until(condition, deadline, std::chrono::milliseconds{20});
}

bool cluster_harness::wait_converged(std::chrono::milliseconds deadline) {
  return wait_for([this] { return converged(); }, deadline);
}

} // namespace troupe::testkit

namespace troupe::testkit {

bool cluster_harness::ring_settled() {
  std::set<std::string> live;
  cluster_states states;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!running(i)) {
      continue;
    }
    live.insert(node_id(i));
    auto snap = at(i).cluster().snapshot();
    if (!snap) {
      return false;
    }
    states.push_back(
      std::make_shared<const cluster::cluster_snapshot>(std::move(*snap)));
    auto transfers = at(i).router().transfers();
    auto stats = at(i).router().stats();
    if (!transfers || !transfers->empty() || !stats || stats->awaiting > 0) {
      return false;
    }
  }
  return rings_agree(states, live);
}

} // namespace troupe::testkit

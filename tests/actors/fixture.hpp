// A threaded actor system with the node's services, for behaviour tests.
#pragma once

#include "troupe/actors/errors.hpp"
#include "troupe/actors/registry.hpp"
#include "troupe/runtime/crash_log.hpp"
#include "troupe/runtime/logging.hpp"
#include "troupe/runtime/system_config.hpp"
#include "troupe/supervision/errors.hpp"
#include "troupe/testkit/node_process.hpp"

#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <memory>
#include <optional>

namespace troupe::test {

/// Owns, in order: a temporary data directory, the logs (captured in a ring
/// buffer), the crash log, a registry and a two-thread actor system.
struct actor_fixture {
  testkit::temp_dir dir;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> captured
    = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
  runtime::system_config cfg;
  std::shared_ptr<actors::name_registry> registry
    = actors::name_registry::make();
  std::optional<caf::actor_system> sys;

  actor_fixture() {
    auto logs = runtime::log_context::make(
      {.node = "t1", .console = false, .extra_sinks = {captured}});
    REQUIRE(logs);
    cfg.logs = *logs;
    auto crashes = runtime::crash_log::open(dir.path());
    REQUIRE(crashes);
    cfg.crashes = *crashes;
    supervision::add_supervision_types(cfg);
    cfg.set("scheduler.max-threads", size_t{2});
    sys.emplace(cfg);
  }

  ~actor_fixture() {
    for (const auto& name : registry->names()) {
      caf::anon_send_exit(registry->whereis(name),
                          caf::exit_reason::user_shutdown);
    }
  }

  /// Log lines captured so far that contain `text`.
  size_t log_lines_with(const std::string& text) {
    size_t n = 0;
    for (const auto& line : captured->last_formatted()) {
      n += line.find(text) != std::string::npos ? 1 : 0;
    }
    return n;
  }
};

} // namespace troupe::test

// Tests of the per-node logging context.
#include "troupe/runtime/logging.hpp"

#include "troupe/testkit/node_process.hpp"

#include <doctest/doctest.h>

#include <spdlog/sinks/ringbuffer_sink.h>

namespace rt = troupe::runtime;

namespace {

struct captured {
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink
    = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  std::shared_ptr<rt::log_context> logs;

  explicit captured(rt::log_level level = rt::log_level::info,
                    std::optional<std::filesystem::path> file = std::nullopt,
                    std::uint64_t max_bytes = 1 << 20) {
    auto made = rt::log_context::make({.node = "n7",
                                       .level = level,
                                       .console = false,
                                       .file = std::move(file),
                                       .max_file_bytes = max_bytes,
                                       .max_files = 2,
                                       .extra_sinks = {sink}});
    REQUIRE(made);
    logs = *made;
  }

  std::vector<std::string> lines() {
    return sink->last_formatted();
  }
};

bool any_contains(const std::vector<std::string>& lines,
                  const std::string& text) {
  return std::any_of(lines.begin(), lines.end(), [&text](const auto& line) {
    return line.find(text) != std::string::npos;
  });
}

} // namespace

TEST_SUITE_BEGIN("runtime.logging");

TEST_CASE("loggers are named node.folder.component and write to the sinks") {
  captured c;
  auto log = c.logs->get("cluster", "gossip");
  CHECK_EQ(log->name(), "n7.cluster.gossip");
  CHECK_EQ(c.logs->get("cluster", "gossip"), log);
  log->info("event=gossip.merge from={}", "n2");
  auto lines = c.lines();
  REQUIRE_EQ(lines.size(), 1u);
  CHECK(any_contains(lines, "[n7.cluster.gossip] event=gossip.merge from=n2"));
}

TEST_CASE("levels change at run time by component, folder or for all") {
  captured c;
  auto gossip = c.logs->get("cluster", "gossip");
  auto ring = c.logs->get("cluster", "ring");
  auto sup = c.logs->get("supervision", "root");
  gossip->debug("event=hidden");
  CHECK(c.lines().empty());
  CHECK_EQ(c.logs->set_level("cluster.gossip", rt::log_level::debug), 1u);
  gossip->debug("event=shown.one");
  ring->debug("event=hidden");
  CHECK_EQ(c.logs->set_level("cluster", rt::log_level::debug), 2u);
  ring->debug("event=shown.two");
  sup->debug("event=hidden");
  auto later = c.logs->get("cluster", "router");
  later->debug("event=shown.three"); // created after the change
  CHECK_EQ(c.logs->set_level("*", rt::log_level::error), 4u);
  gossip->info("event=hidden");
  auto lines = c.lines();
  CHECK_EQ(lines.size(), 3u);
  CHECK(any_contains(lines, "shown.one"));
  CHECK(any_contains(lines, "shown.two"));
  CHECK(any_contains(lines, "shown.three"));
  CHECK_FALSE(any_contains(lines, "hidden"));
}

TEST_CASE("a selector matches whole name parts only") {
  captured c;
  c.logs->get("cluster", "gossip");
  c.logs->get("clusterx", "gossip");
  CHECK_EQ(c.logs->set_level("cluster", rt::log_level::debug), 1u);
  CHECK_EQ(c.logs->logger_names().size(), 2u);
}

TEST_CASE("two contexts in one process keep their own loggers") {
  captured a;
  auto made = rt::log_context::make({.node = "n8", .console = false});
  REQUIRE(made);
  CHECK_EQ((*made)->get("apps", "node")->name(), "n8.apps.node");
  CHECK_EQ(a.logs->get("apps", "node")->name(), "n7.apps.node");
}

TEST_CASE("the log file is written and rotates at its size limit") {
  troupe::testkit::temp_dir dir;
  auto file = dir.path() / "node.log";
  {
    captured c{rt::log_level::info, file, 4096};
    auto log = c.logs->get("apps", "node");
    for (int i = 0; i < 200; ++i) {
      log->info("event=test.fill i={} padding={}", i, std::string(40, 'x'));
    }
    c.logs->flush();
  }
  CHECK(std::filesystem::exists(file));
  CHECK(std::filesystem::exists(dir.path() / "node.1.log"));
  CHECK(std::filesystem::exists(dir.path() / "node.2.log"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "node.3.log"));
  CHECK_LE(std::filesystem::file_size(file), 4096u);
  auto newest = troupe::testkit::read_text(file);
  CHECK(newest.find("i=199") != std::string::npos);
}

TEST_CASE("an unopenable log file is an error, not a crash") {
  troupe::testkit::temp_dir dir;
  auto as_dir = rt::log_context::make(
    {.node = "n9", .console = false, .file = dir.path()});
  CHECK_FALSE(as_dir);
}

TEST_SUITE_END();

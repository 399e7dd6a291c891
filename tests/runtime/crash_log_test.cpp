// Tests of the crash-report log.
#include "troupe/runtime/crash_log.hpp"

#include "troupe/testkit/node_process.hpp"

#include <doctest/doctest.h>

#include <fstream>

namespace rt = troupe::runtime;

namespace {

rt::crash_report sample(std::uint64_t id) {
  return {.time = "2026-01-01T00:00:00.000Z",
          .node = "n1",
          .actor_id = id,
          .name = "svc",
          .behaviour = "gen_server",
          .last_message = "(\"quote\\\" and \xff bytes\")",
          .status = "value=1\nsecond line",
          .reason = "actors: exception_thrown: boom"};
}

} // namespace

TEST_SUITE_BEGIN("runtime.crash_log");

TEST_CASE("reports are kept across reopening and read back in order") {
  troupe::testkit::temp_dir dir;
  {
    auto log = rt::crash_log::open(dir.path());
    REQUIRE(log);
    (*log)->write(sample(1));
    (*log)->write(sample(2));
  }
  auto log = rt::crash_log::open(dir.path());
  REQUIRE(log);
  (*log)->write(sample(3));
  auto read = (*log)->read();
  REQUIRE_EQ(read.reports.size(), 3u);
  CHECK_EQ(read.unreadable, 0u);
  CHECK_EQ(read.reports[0].actor_id, 1u);
  CHECK_EQ(read.reports[2].actor_id, 3u);
  CHECK_EQ(read.reports[1].status, "value=1\nsecond line");
  CHECK_EQ(read.reports[1].last_message.substr(0, 8), "(\"quote\\");
}

TEST_CASE("supervisor reports share the log and keep their context and "
          "offender; lines of older builds read as crashes") {
  troupe::testkit::temp_dir dir;
  auto log = rt::crash_log::open(dir.path());
  REQUIRE(log);
  auto report = sample(7);
  report.behaviour = "supervisor";
  report.kind = "supervisor";
  report.context = "child_terminated";
  report.offender = "worker1";
  report.offender_actor = 42;
  report.reason = "{shutdown,x}";
  (*log)->write(report);
  // As builds before supervisor reports wrote them: no kind.
  std::string old = R"({"actor_id":8,"behaviour":"gen_server",)"
                    R"("last_message":"","name":"svc","node":"n1",)"
                    R"("reason":"boom","status":"","time":"t"})";
  {
    std::ofstream out{dir.path() / "crash.log", std::ios::app};
    out << old << "\n";
  }
  auto read = (*log)->read();
  REQUIRE_EQ(read.reports.size(), 2u);
  CHECK_EQ(read.unreadable, 0u);
  const auto& r = read.reports[0];
  CHECK_EQ(r.kind, "supervisor");
  CHECK_EQ(r.context, "child_terminated");
  CHECK_EQ(r.offender, "worker1");
  CHECK_EQ(r.offender_actor, 42u);
  CHECK_EQ(r.reason, "{shutdown,x}");
  CHECK_EQ(read.reports[1].kind, "crash");
  CHECK(read.reports[1].context.empty());
  CHECK_EQ(read.reports[1].actor_id, 8u);
}

TEST_CASE("the crash log rotates and reading spans the rotated files") {
  troupe::testkit::temp_dir dir;
  auto log = rt::crash_log::open(dir.path(), 4096, 3);
  REQUIRE(log);
  for (std::uint64_t i = 1; i <= 200; ++i) {
    (*log)->write(sample(i));
  }
  CHECK(std::filesystem::exists(dir.path() / "crash.1.log"));
  auto read = (*log)->read();
  REQUIRE_FALSE(read.reports.empty());
  CHECK_LT(read.reports.size(), 200u); // the oldest rotated away
  CHECK_EQ(read.reports.back().actor_id, 200u);
  for (size_t i = 1; i < read.reports.size(); ++i) {
    CHECK_EQ(read.reports[i].actor_id, read.reports[i - 1].actor_id + 1);
  }
}

TEST_CASE("damaged lines are skipped and counted, never fatal") {
  troupe::testkit::temp_dir dir;
  {
    auto log = rt::crash_log::open(dir.path());
    REQUIRE(log);
    (*log)->write(sample(1));
  }
  std::ofstream{dir.path() / "crash.log", std::ios::app}
    << "{not json\n[1,2]\n{\"actor_id\": -1}\n";
  auto read = rt::crash_log::read(dir.path());
  CHECK_EQ(read.reports.size(), 1u);
  CHECK_EQ(read.unreadable, 3u);
}

TEST_CASE("a missing time is stamped when written") {
  troupe::testkit::temp_dir dir;
  auto log = rt::crash_log::open(dir.path());
  REQUIRE(log);
  auto r = sample(1);
  r.time.clear();
  (*log)->write(r);
  auto read = (*log)->read();
  REQUIRE_EQ(read.reports.size(), 1u);
  CHECK_EQ(read.reports[0].time.size(), 24u); // 2026-11-24T02:00:00.000Z
}

TEST_SUITE_END();

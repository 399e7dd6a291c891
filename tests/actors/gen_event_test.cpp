// Tests of the event manager behaviour.
#include "troupe/actors/gen_event.hpp"

#include "tests/actors/fixture.hpp"
#include "troupe/testkit/wait.hpp"

#include "troupe/testkit/journal.hpp"

#include <doctest/doctest.h>

#include <mutex>

namespace ta = troupe::actors;
using namespace std::chrono_literals;

namespace {

using troupe::testkit::journal;

class recorder : public ta::event_handler<std::string> {
public:
  recorder(std::string id, std::shared_ptr<journal> j, int count = 0)
    : id_(std::move(id)), journal_(std::move(j)), count_(count) {}
  void handle_event(const std::string& event) override {
    if (event == "explode:" + id_) {
      throw std::runtime_error("handler " + id_ + " exploded");
    }
    ++count_;
    journal_->add(id_ + ":" + event);
  }
  void terminate(const caf::error& reason) override {
    journal_->add(id_ + ":terminate:" + caf::to_string(reason));
  }
  std::any swap_out() override {
    return count_;
  }
  void swap_in(std::any state) override {
    count_ = std::any_cast<int>(state);
    journal_->add(id_ + ":swapped_in:" + std::to_string(count_));
  }
  std::string format_status() const override {
    return "count=" + std::to_string(count_);
  }

private:
  std::string id_;
  std::shared_ptr<journal> journal_;
  int count_;
};

class refuser : public ta::event_handler<std::string> {
public:
  caf::error init() override {
    return caf::make_error(caf::sec::invalid_argument, "not today");
  }
  void handle_event(const std::string&) override {}
};

struct fixture : troupe::test::actor_fixture {
  std::shared_ptr<journal> j = std::make_shared<journal>();

  ta::event_manager<std::string> start_manager() {
    auto m = ta::event_manager<std::string>::start(*sys);
    REQUIRE(m);
    return *m;
  }
  auto handler(const std::string& id) {
    return std::make_shared<recorder>(id, j);
  }
};

bool contains(const std::vector<std::string>& lines, const std::string& s) {
  return std::find(lines.begin(), lines.end(), s) != lines.end();
}

} // namespace

TEST_SUITE_BEGIN("actors.gen_event");

TEST_CASE_FIXTURE(fixture, "every handler gets every event in order") {
  auto m = start_manager();
  REQUIRE_FALSE(m.add_handler("a", handler("a")));
  REQUIRE_FALSE(m.add_handler("b", handler("b")));
  m.notify("one");
  REQUIRE_FALSE(m.sync_notify("two"));
  CHECK_EQ(j->snapshot(),
           std::vector<std::string>{"a:one", "b:one", "a:two", "b:two"});
  CHECK_EQ(*m.which_handlers(), std::vector<std::string>{"a", "b"});
  REQUIRE_FALSE(m.stop());
  auto lines = j->snapshot();
  CHECK(contains(lines, "a:terminate:none"));
  CHECK(contains(lines, "b:terminate:none"));
}

TEST_CASE_FIXTURE(fixture, "a handler can be removed and its id reused") {
  auto m = start_manager();
  REQUIRE_FALSE(m.add_handler("a", handler("a")));
  CHECK_EQ(m.add_handler("a", handler("a")), ta::errc::name_taken);
  REQUIRE_FALSE(m.delete_handler("a"));
  CHECK_EQ(m.delete_handler("a"), ta::errc::name_not_registered);
  CHECK(contains(j->snapshot(), "a:terminate:none"));
  CHECK_FALSE(m.add_handler("a", handler("a")));
  CHECK_EQ(m.add_handler("r", std::make_shared<refuser>()),
           caf::sec::invalid_argument);
  CHECK_EQ(*m.which_handlers(), std::vector<std::string>{"a"});
  REQUIRE_FALSE(m.stop());
}

TEST_CASE_FIXTURE(fixture, "a swap hands the old handler's state over") {
  auto m = start_manager();
  REQUIRE_FALSE(m.add_handler("v1", handler("v1")));
  REQUIRE_FALSE(m.sync_notify("x"));
  REQUIRE_FALSE(m.sync_notify("y"));
  REQUIRE_FALSE(m.swap_handler("v1", "v2", handler("v2")));
  REQUIRE_FALSE(m.sync_notify("z"));
  auto lines = j->snapshot();
  CHECK(contains(lines, "v2:swapped_in:2"));
  CHECK(contains(lines, "v2:z"));
  CHECK_FALSE(contains(lines, "v1:z"));
  CHECK_EQ(*m.which_handlers(), std::vector<std::string>{"v2"});
  REQUIRE_FALSE(m.stop());
}

TEST_CASE_FIXTURE(fixture, "a failing handler is removed and reported while "
                           "the others keep receiving") {
  auto m = start_manager();
  REQUIRE_FALSE(m.add_handler("a", handler("a")));
  REQUIRE_FALSE(m.add_handler("b", handler("b")));
  REQUIRE_FALSE(m.add_handler("c", handler("c")));
  REQUIRE_FALSE(m.sync_notify("explode:b"));
  REQUIRE_FALSE(m.sync_notify("after"));
  auto lines = j->snapshot();
  CHECK(contains(lines, "a:explode:b"));
  CHECK(contains(lines, "c:explode:b"));
  CHECK(contains(lines, "a:after"));
  CHECK(contains(lines, "c:after"));
  CHECK_FALSE(contains(lines, "b:after"));
  CHECK_EQ(*m.which_handlers(), std::vector<std::string>{"a", "c"});
  auto reports = cfg.crashes->read().reports;
  REQUIRE_EQ(reports.size(), 1u);
  CHECK_EQ(reports[0].behaviour, "gen_event handler");
  CHECK_EQ(reports[0].name, "b");
  CHECK_EQ(reports[0].status, "count=0");
  CHECK(reports[0].last_message.find("explode:b") != std::string::npos);
  CHECK(reports[0].reason.find("handler b exploded") != std::string::npos);
  REQUIRE_FALSE(m.stop());
}

TEST_CASE_FIXTURE(fixture, "a registered manager is found by name") {
  auto m = ta::event_manager<std::string>::start(*sys, {.name = "alarms",
                                                        .registry = registry});
  REQUIRE(m);
  CHECK_EQ(registry->whereis("alarms"), m->handle());
  auto again = ta::event_manager<std::string>::start(
    *sys, {.name = "alarms", .registry = registry});
  CHECK_FALSE(again);
  REQUIRE_FALSE(m->stop());
}

TEST_SUITE_END();

// A CAF actor system on the deterministic test scheduler, for doctest.
#include "troupe/testkit/deterministic.hpp"

#include <caf/exit_reason.hpp>
#include <caf/message_view.hpp>

namespace troupe::testkit {

deterministic_system::deterministic_system(
  const std::function<void(runtime::system_config&)>& configure) {
  cfg_.use_test_scheduler();
  if (configure) {
    configure(cfg_);
  }
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
}

deterministic_system::~deterministic_system() {
  for (auto& handle : owned_) {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
  }
  owned_.clear();
  sched_->clock().cancel_all();
  sched_->run();
}

size_t deterministic_system::run() {
  size_t n = 0;
  while (sched_->try_run_once()) {
    ++n;
  }
  return n;
}

bool deterministic_system::run_once() {
  return sched_->try_run_once();
}

size_t deterministic_system::advance(std::chrono::nanoseconds d) {
  sched_->advance_time(d);
  return run();
}

deterministic_system::probe::probe(deterministic_system& ds)
  : inbox_(std::make_shared<std::deque<caf::message>>()) {
  handle_ = ds.spawn([inbox = inbox_](caf::event_based_actor* self) {
    self->set_default_handler(
      [inbox](caf::scheduled_actor*,
              caf::message_view& view) -> caf::result<caf::message> {
        inbox->push_back(view.move_content_to_message());
        return caf::message{};
      });
    return caf::behavior{[](const caf::unit_t&) {}};
  });
}

std::optional<caf::message> deterministic_system::probe::next() {
  if (inbox_->empty()) {
    return std::nullopt;
  }
  auto msg = std::move(inbox_->front());
  inbox_->pop_front();
  return msg;
}

} // namespace troupe::testkit

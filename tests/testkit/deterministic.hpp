// A CAF actor system on the deterministic test scheduler, for doctest.
//
// No worker threads: messages run only when the test calls `run()` or
// `run_once()`, on the test's own thread; timers fire only when the test
// advances the virtual clock. Actors spawned through `spawn` are told to exit
// at teardown, so the system always shuts down.
#pragma once

#include "troupe/runtime/system_config.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/message.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>

namespace troupe::testkit {

/// The deterministic actor system. Construct one per test case.
class deterministic_system {
public:
  /// `configure` may adjust the configuration (register types, set the
  /// node's logs) before the system is built.
  explicit deterministic_system(
    const std::function<void(runtime::system_config&)>& configure = {});
  deterministic_system(const deterministic_system&) = delete;
  deterministic_system& operator=(const deterministic_system&) = delete;
  ~deterministic_system();

  caf::actor_system& sys() {
    return *sys_;
  }

  caf::scheduler::test_coordinator& sched() {
    return *sched_;
  }

  /// Spawns an actor and remembers it for teardown.
  template <class F, class... Ts>
  caf::actor spawn(F fun, Ts&&... xs) {
    auto handle = sys_->spawn(std::move(fun), std::forward<Ts>(xs)...);
    owned_.push_back(handle);
    return handle;
  }

  /// Runs messages until no job is left; returns how many ran. Timers do
  /// not fire: call `advance` for that.
  size_t run();

  /// Runs exactly one message; false if there was none.
  bool run_once();

  /// Moves the virtual clock forward and runs what that released.
  size_t advance(std::chrono::nanoseconds d);

  /// An actor that stores every message it receives, in order; useful as
  /// the sender of a request so the test can read the reply.
  class probe {
  public:
    explicit probe(deterministic_system& ds);

    const caf::actor& handle() const {
      return handle_;
    }

    /// Removes and returns the oldest received message, if any.
    std::optional<caf::message> next();

    /// Number of messages waiting.
    size_t size() const {
      return inbox_->size();
    }

  private:
    std::shared_ptr<std::deque<caf::message>> inbox_;
    caf::actor handle_;
  };

private:
  runtime::system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::vector<caf::actor> owned_;
};

} // namespace troupe::testkit

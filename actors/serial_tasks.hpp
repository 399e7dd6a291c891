// A queue of asynchronous tasks that an actor runs one at a time.
#pragma once

#include <deque>
#include <functional>
#include <utility>

namespace troupe::actors {

/// Runs tasks one after another inside one actor: a task gets a `done`
/// continuation and the next task starts only once it has been called, so
/// multi-step work (requests, waits for exits) never interleaves. Owned by
/// the actor's state; `done` must only be called while that state lives
/// (from the actor's own handlers).
class serial_tasks {
public:
  using done_fn = std::function<void()>;
  using task_fn = std::function<void(done_fn)>;

  /// Queues `task`; it starts at once if nothing else is running.
  void enqueue(task_fn task) {
    tasks_.push_back(std::move(task));
    run_next();
  }

  /// Starts no further task (the actor is going away).
  void halt() {
    halted_ = true;
  }

  bool busy() const {
    return busy_;
  }

private:
  void run_next() {
    if (busy_ || tasks_.empty() || halted_) {
      return;
    }
    busy_ = true;
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    task([this] {
      busy_ = false;
      run_next();
    });
  }

  std::deque<task_fn> tasks_;
  bool busy_ = false;
  bool halted_ = false;
};

} // namespace troupe::actors

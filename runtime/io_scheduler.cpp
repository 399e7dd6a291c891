// CAF's work-stealing scheduler whose workers also read sockets.
#include "io_scheduler.hpp"

#include "actor_thread.hpp"
#include "io_poller.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include <caf/policy/work_sharing.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace troupe::runtime {

namespace {

// A busy worker looks at the sockets once per this many jobs.
constexpr unsigned busy_look_interval = 16;

// An idle worker spins at most this long before it waits (a round trip
// between two nodes takes 40-100 us here): CAF's counts of polls, each now
// a system call or two, would keep it spinning for about a millisecond
// after every job.
constexpr auto max_spin = std::chrono::microseconds{250};

class io_stealing : public caf::policy::work_stealing {
public:
  using base = caf::policy::work_stealing;

  struct worker_data : base::worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator* p)
      : base::worker_data(p), poller(poller_of(p->system())) {}
    worker_data(const worker_data& other)
      : base::worker_data(other), poller(other.poller) {}

    io_poller* poller;
    bool polling = false; // waiting in the poller (guarded by waitdata.lock)
    unsigned jobs_since_look = 0;
  };

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    auto& data = d(self);
    data.queue.append(job);
    std::unique_lock<std::mutex> guard(data.waitdata.lock);
    if (data.waitdata.sleeping) {
      data.waitdata.cv.notify_one();
    } else if (data.polling) {
      data.poller->wake();
    }
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    mark_actor_thread();
    auto& data = d(self);
    auto* io = data.poller;
    if (++data.jobs_since_look >= busy_look_interval) {
      data.jobs_since_look = 0;
      if (io->watching()) {
        io->poll(self, 0, false);
      }
    }
    // Spinning: the queue, a victim now and then, and the sockets.
    auto& strategies = data.strategies;
    auto spin_until = std::chrono::steady_clock::now() + max_spin;
    for (std::size_t k = 0; k < 2; ++k) {
      const auto& s = strategies[k];
      for (std::size_t i = 0;
           i < s.attempts && std::chrono::steady_clock::now() < spin_until;
           i += s.step_size) {
        if (auto* job = data.queue.take_head()) {
          return job;
        }
        if (io->watching() && io->poll(self, 0, false) > 0) {
          if (auto* job = data.queue.take_head()) {
            return job;
          }
        }
        if ((i % s.steal_interval) == 0) {
          if (auto* job = try_steal(self)) {
            return job;
          }
        }
        if (s.sleep_duration.count() > 0) {
          std::this_thread::sleep_for(s.sleep_duration);
        } else {
          std::this_thread::yield();
        }
      }
    }
    // Idle: one worker waits in the poller, the others on their condition
    // variables; every so often each tries to steal.
    const auto& relaxed = strategies[2];
    auto wait_ms = static_cast<int>(std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(
           relaxed.sleep_duration)
           .count()));
    for (std::size_t i = 1;; ++i) {
      caf::resumable* job = nullptr;
      if (io->try_take_turn()) {
        bool idle = false;
        {
          std::unique_lock<std::mutex> guard(data.waitdata.lock);
          idle = data.queue.empty();
          data.polling = idle;
        }
        if (idle) {
          io->poll(self, wait_ms, true);
          std::unique_lock<std::mutex> guard(data.waitdata.lock);
          data.polling = false;
        }
        io->end_turn();
        job = data.queue.take_head();
      } else {
        std::unique_lock<std::mutex> guard(data.waitdata.lock);
        data.waitdata.sleeping = true;
        bool woken = data.waitdata.cv.wait_for(
          guard, relaxed.sleep_duration, [&] { return !data.queue.empty(); });
        data.waitdata.sleeping = false;
        guard.unlock();
        if (woken) {
          job = data.queue.take_head();
        }
      }
      if (job == nullptr && (i % relaxed.steal_interval) == 0) {
        job = try_steal(self);
      }
      if (job != nullptr) {
        return job;
      }
    }
  }
};

// One of CAF's own policies, whose workers mark their threads.
template <class Policy>
class marked : public Policy {
public:
  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    mark_actor_thread();
    return Policy::dequeue(self);
  }
};

} // namespace

caf::actor_system::module* make_io_scheduler(caf::actor_system& sys) {
  return new caf::scheduler::coordinator<io_stealing>(sys);
}

caf::actor_system::module* make_stealing_scheduler(caf::actor_system& sys) {
  return new caf::scheduler::coordinator<marked<caf::policy::work_stealing>>(
    sys);
}

caf::actor_system::module* make_sharing_scheduler(caf::actor_system& sys) {
  return new caf::scheduler::coordinator<marked<caf::policy::work_sharing>>(
    sys);
}

} // namespace troupe::runtime

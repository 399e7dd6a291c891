// Sockets watched by the scheduler's own workers: an idle worker waits for
// them instead of sleeping, and reads what arrives on its own thread, so a
// message from another node reaches its actor without a hand-off between
// threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace caf {
class actor_system;
class execution_unit;
} // namespace caf

namespace troupe::runtime {

/// A socket's reader.
class io_source {
public:
  virtual ~io_source() = default;

  /// The socket has something to read (or has closed). Runs on a worker of
  /// the actor system, never on two threads at once for one source.
  /// Messages enqueued with `eu` run next on the same worker. Returns false
  /// to stop watching the socket.
  virtual bool on_readable(caf::execution_unit* eu) = 0;
};

/// An epoll set shared by the workers of one actor system (see
/// `io_scheduler.hpp`). A ready socket is given to one worker at a time
/// and watched again when its source returns.
class io_poller {
public:
  /// An empty poller, or null if the kernel refuses the epoll set or the
  /// event counter (the reason is in `errno`).
  static std::shared_ptr<io_poller> make();

  ~io_poller();
  io_poller(const io_poller&) = delete;
  io_poller& operator=(const io_poller&) = delete;

  /// Watches `fd` for input until `unwatch` or until `src` returns false.
  /// The caller keeps `fd` open at least that long. Returns the key for
  /// `unwatch`, or 0 if the kernel refused the descriptor.
  std::uint64_t watch(int fd, std::shared_ptr<io_source> src);

  /// Stops watching; a source running now finishes, and is not run again.
  void unwatch(std::uint64_t key);

  /// Runs the sources whose sockets are ready, waiting up to `timeout_ms`
  /// for one (0: only looks). A wake-up (`wake`) ends the wait; only the
  /// worker whose turn it is to wait (`try_take_turn`) consumes it.
  /// Returns how many sources ran.
  std::size_t poll(caf::execution_unit* eu, int timeout_ms, bool my_turn);

  /// Ends the wait of the worker whose turn it is.
  void wake();

  /// At most one idle worker waits in the poller; the others sleep as
  /// usual. True if the caller now has the turn.
  bool try_take_turn() {
    return !turn_.exchange(true, std::memory_order_acq_rel);
  }
  void end_turn() {
    turn_.store(false, std::memory_order_release);
  }

  /// True if any socket is watched (idle workers look only then).
  bool watching() const {
    return watched_.load(std::memory_order_relaxed) > 0;
  }

private:
  io_poller(int epoll_fd, int event_fd);

  struct entry {
    int fd;
    std::shared_ptr<io_source> src;
  };

  void rearm(std::uint64_t key, bool keep);

  int epoll_fd_;
  int event_fd_;
  std::atomic<bool> turn_{false};
  std::atomic<std::size_t> watched_{0};
  std::mutex mtx_;
  std::uint64_t next_key_ = 1;
  std::unordered_map<std::uint64_t, entry> entries_;
};

/// The poller of `sys`'s scheduler, or null if `sys` does not run one (the
/// `sharing` and test schedulers).
io_poller* poller_of(const caf::actor_system& sys);

} // namespace troupe::runtime

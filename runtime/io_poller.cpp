// Sockets watched by the scheduler's own workers.
#include "io_poller.hpp"

#include "system_config.hpp"

#include <array>
#include <cerrno>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace troupe::runtime {

namespace {

// The key of the event counter that `wake` writes to.
constexpr std::uint64_t wake_key = 0;

constexpr std::uint32_t watch_events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;

} // namespace

std::shared_ptr<io_poller> io_poller::make() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    return nullptr;
  }
  int ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ev < 0) {
    auto saved = errno;
    close(ep);
    errno = saved;
    return nullptr;
  }
  // Level-triggered: a worker that only looks leaves it for the one whose
  // turn it is.
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.u64 = wake_key;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) != 0) {
    auto saved = errno;
    close(ev);
    close(ep);
    errno = saved;
    return nullptr;
  }
  return std::shared_ptr<io_poller>{new io_poller(ep, ev)};
}

io_poller::io_poller(int epoll_fd, int event_fd)
  : epoll_fd_(epoll_fd), event_fd_(event_fd) {}

io_poller::~io_poller() {
  close(event_fd_);
  close(epoll_fd_);
}

std::uint64_t io_poller::watch(int fd, std::shared_ptr<io_source> src) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto key = next_key_++;
  epoll_event e{};
  e.events = watch_events;
  e.data.u64 = key;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &e) != 0) {
    return 0;
  }
  entries_.emplace(key, entry{fd, std::move(src)});
  watched_.fetch_add(1, std::memory_order_relaxed);
  return key;
}

void io_poller::unwatch(std::uint64_t key) {
  std::shared_ptr<io_source> dropped; // released after the lock
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(key);
  if (i == entries_.end()) {
    return;
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, i->second.fd, nullptr);
  dropped = std::move(i->second.src);
  entries_.erase(i);
  watched_.fetch_sub(1, std::memory_order_relaxed);
}

void io_poller::rearm(std::uint64_t key, bool keep) {
  std::shared_ptr<io_source> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(key);
  if (i == entries_.end()) {
    return; // unwatched while it ran
  }
  if (keep) {
    epoll_event e{};
    e.events = watch_events;
    e.data.u64 = key;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, i->second.fd, &e) == 0) {
      return;
    }
  }
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, i->second.fd, nullptr);
  dropped = std::move(i->second.src);
  entries_.erase(i);
  watched_.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t io_poller::poll(caf::execution_unit* eu, int timeout_ms,
                            bool my_turn) {
  std::array<epoll_event, 32> events{};
  int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                     timeout_ms);
  std::size_t ran = 0;
  for (int k = 0; k < n; ++k) {
    auto key = events[static_cast<std::size_t>(k)].data.u64;
    if (key == wake_key) {
      if (my_turn) {
        std::uint64_t count = 0;
        auto got = read(event_fd_, &count, sizeof(count));
        static_cast<void>(got); // empty already: another turn took it
      }
      continue;
    }
    std::shared_ptr<io_source> src;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      auto i = entries_.find(key);
      if (i == entries_.end()) {
        continue;
      }
      src = i->second.src;
    }
    bool keep = src->on_readable(eu);
    ++ran;
    rearm(key, keep);
  }
  return ran;
}

void io_poller::wake() {
  std::uint64_t one = 1;
  auto put = write(event_fd_, &one, sizeof(one));
  static_cast<void>(put); // only fails when the counter is full: awake anyway
}

io_poller* poller_of(const caf::actor_system& sys) {
  const auto* cfg = troupe_config(sys);
  return cfg != nullptr ? cfg->poller.get() : nullptr;
}

} // namespace troupe::runtime

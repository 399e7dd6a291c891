// The console's endpoints: a Unix socket in the data directory (mode 0600,
// independent of the cluster transport) and an optional TCP listener that
// requires a token. Each connection is served on its own thread.
#pragma once

#include "../actors/console.hpp"
#include "../runtime/config.hpp"
#include "auth_limiter.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <caf/expected.hpp>
#include <spdlog/logger.h>

namespace troupe {

class console_server {
public:
  struct options {
    /// The Unix socket to create (a stale one is replaced).
    std::filesystem::path socket_path;
    /// TCP listener, if any; `token` must then be set.
    std::optional<runtime::endpoint> tcp{};
    std::string token{};
    std::shared_ptr<spdlog::logger> log;
    /// Connections served at once on each endpoint: the Unix socket and TCP
    /// count apart, so that TCP clients never lock the operator out.
    std::size_t max_connections = 16;
    /// Connections beyond that wait for a slot, this many at most per
    /// endpoint and for at most `queue_wait`; then they are refused with an
    /// error reply.
    std::size_t max_waiting = 128;
    std::chrono::milliseconds queue_wait{3000};
    /// A connection that sends no request within this time is closed (an
    /// attach session sends its first at once and may then idle). Shorter
    /// than `queue_wait`, so that a client behind idle connections gets in.
    std::chrono::milliseconds first_request_timeout{2000};
    /// Failed TCP authentications allowed per source address in a burst;
    /// afterwards one more every `auth_refill`, and that source's
    /// connections beyond are closed unread. Other sources, and the Unix
    /// socket, are not affected.
    std::uint32_t auth_burst = 5;
    std::chrono::milliseconds auth_refill{2000};
  };

  /// Binds the endpoints and starts serving `registry`, which must outlive
  /// the server.
  static caf::expected<std::unique_ptr<console_server>>
  start(options opts, const actors::console_registry& registry);

  console_server(const console_server&) = delete;
  console_server& operator=(const console_server&) = delete;

  /// Closes the endpoints and every connection, waits for their threads,
  /// and removes the socket file.
  ~console_server();

  /// The TCP port (the configured one, or the one the OS picked for 0); 0
  /// without TCP.
  std::uint16_t tcp_port() const {
    return tcp_port_;
  }

private:
  struct connection {
    int fd = -1;
    bool tcp = false;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  // An accepted connection waiting for a slot.
  struct waiting {
    int fd = -1;
    bool tcp = false;
    std::chrono::steady_clock::time_point deadline;
  };

  console_server(options opts, const actors::console_registry& registry);

  void accept_loop();
  void accept_one(int listener, bool tcp);
  // Serves waiting connections whose endpoint has a free slot, refuses
  // those that waited too long; returns how long until the next deadline.
  std::optional<std::chrono::milliseconds> admit_waiting();
  void start_serving(int fd, bool tcp);
  std::size_t active(bool tcp) const;
  void serve(connection& conn);
  bool authenticate(connection& conn, const std::string& token);
  void reap(bool all);

  options opts_;
  const actors::console_registry* registry_;
  int unix_fd_ = -1;
  int tcp_fd_ = -1;
  int wake_[2] = {-1, -1};
  int freed_[2] = {-1, -1}; // a byte per finished connection
  std::uint16_t tcp_port_ = 0;
  std::thread acceptor_;
  std::mutex mtx_;
  std::list<connection> conns_;
  std::deque<waiting> waiting_;
  std::atomic<bool> stopping_{false};
  // Failed TCP authentications, per source address.
  auth_limiter limiter_;
  std::chrono::steady_clock::time_point last_refusal_log_{};
  std::uint64_t refused_unlogged_ = 0;
};

} // namespace troupe

// The console's endpoints: a Unix socket in the data directory (mode 0600,
// independent of the cluster transport) and an optional TCP listener that
// requires a token. Each connection is served on its own thread.
#pragma once

#include "../actors/console.hpp"
#include "../runtime/config.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
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
    /// Connections served at once; more are refused with an error reply.
    std::size_t max_connections = 16;
    /// Failed TCP authentications allowed in a burst; afterwards one more
    /// every `auth_refill`, and connections beyond are closed unread.
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

  console_server(options opts, const actors::console_registry& registry);

  void accept_loop();
  void accept_one(int listener, bool tcp);
  void serve(connection& conn);
  bool authenticate(connection& conn, const std::string& token);
  bool take_auth_attempt();
  void reap(bool all);

  options opts_;
  const actors::console_registry* registry_;
  int unix_fd_ = -1;
  int tcp_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::uint16_t tcp_port_ = 0;
  std::thread acceptor_;
  std::mutex mtx_;
  std::list<connection> conns_;
  std::atomic<bool> stopping_{false};
  // Token bucket of failed TCP authentications.
  double auth_tokens_ = 0;
  std::chrono::steady_clock::time_point auth_updated_{};
  std::chrono::steady_clock::time_point last_refusal_log_{};
  std::uint64_t refused_unlogged_ = 0;
};

} // namespace troupe

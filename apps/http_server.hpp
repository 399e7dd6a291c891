// The node's HTTP endpoint: /metrics (Prometheus text), /status (JSON) and
// /healthz (200 while up and serving, 503 otherwise).
#pragma once

#include "../runtime/config.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <caf/expected.hpp>
#include <spdlog/logger.h>

namespace httplib {
class Server;
} // namespace httplib

namespace troupe {

class http_server {
public:
  /// What the endpoints answer; each is called on a server thread.
  struct handlers {
    std::function<std::string()> metrics;
    std::function<std::string()> status_json;
    /// True and a reason while the node serves; false and why not.
    std::function<std::pair<bool, std::string>()> health;
  };

  /// Binds `where` (port 0 picks one) and serves until destroyed.
  static caf::expected<std::unique_ptr<http_server>>
  start(const runtime::endpoint& where, handlers h,
        std::shared_ptr<spdlog::logger> log);

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;
  ~http_server();

  std::uint16_t port() const {
    return port_;
  }

private:
  http_server() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::uint16_t port_ = 0;
};

} // namespace troupe

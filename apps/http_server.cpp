// The node's HTTP endpoint.
#include "http_server.hpp"

#include "../runtime/errors.hpp"

#include <fmt/format.h>
#include <httplib.h>

namespace troupe {

namespace {

/// Worker threads of the HTTP endpoint.
constexpr std::size_t http_workers = 32;

} // namespace

caf::expected<std::unique_ptr<http_server>>
http_server::start(const runtime::endpoint& where, handlers h,
                   std::shared_ptr<spdlog::logger> log) {
  std::unique_ptr<http_server> self{new http_server};
  self->server_ = std::make_unique<httplib::Server>();
  auto& srv = *self->server_;
  // Each connection holds a worker while it sends its request: enough
  // workers that slow or idle clients cannot hold them all, so that a health
  // check gets through; an idle connection is dropped after 2 s, a read
  // that stalls for 2 s ends its connection.
  srv.new_task_queue = [] { return new httplib::ThreadPool(http_workers); };
  srv.set_read_timeout(2, 0);
  srv.set_write_timeout(5, 0);
  srv.set_keep_alive_timeout(2);
  srv.set_keep_alive_max_count(16);
  srv.set_payload_max_length(64 * 1024);
  srv.Get("/metrics", [h](const httplib::Request&, httplib::Response& res) {
    res.set_content(h.metrics(), "text/plain; version=0.0.4; charset=utf-8");
  });
  srv.Get("/status", [h](const httplib::Request&, httplib::Response& res) {
    res.set_content(h.status_json(), "application/json");
  });
  srv.Get("/healthz", [h](const httplib::Request&, httplib::Response& res) {
    auto [ok, why] = h.health();
    res.status = ok ? 200 : 503;
    res.set_content(why + "\n", "text/plain; charset=utf-8");
  });
  srv.set_logger(
    [log](const httplib::Request& req, const httplib::Response& res) {
      log->debug("event=http.request method={} path=\"{}\" status={}",
                 req.method, req.path, res.status);
    });
  int port = where.port;
  if (where.port == 0) {
    port = srv.bind_to_any_port(where.host);
  } else if (!srv.bind_to_port(where.host, where.port)) {
    port = -1;
  }
  if (port <= 0) {
    return caf::make_error(
      runtime::errc::invalid_config,
      fmt::format("http.listen {}: cannot bind (address in use or not "
                  "local?)",
                  runtime::to_string(where)));
  }
  self->port_ = static_cast<std::uint16_t>(port);
  self->thread_
    = std::thread{[s = self.get()] { s->server_->listen_after_bind(); }};
  // `stop` is lost on a server whose loop has not begun: wait for the loop
  // (it begins at once; the socket is already bound).
  while (!srv.is_running()) {
    std::this_thread::yield();
  }
  log->info("event=http.listen address={}:{}", where.host, self->port_);
  return self;
}

http_server::~http_server() {
  if (server_) {
    server_->stop();
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

} // namespace troupe

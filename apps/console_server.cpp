// The console's endpoints: a Unix socket and an optional TCP listener.
#include "console_server.hpp"

#include "../actors/errors.hpp"
#include "../runtime/errors.hpp"
#include "console_protocol.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sodium.h>

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace troupe {

namespace {

using namespace std::chrono_literals;

/// Time an unauthenticated TCP client has to send its first request.
constexpr auto auth_timeout = 10s;
/// Time a client has to finish a frame it has begun.
constexpr auto frame_timeout = 10s;

caf::error endpoint_error(std::string text) {
  return caf::make_error(runtime::errc::invalid_config, std::move(text));
}

caf::expected<int> listen_unix(const std::filesystem::path& path) {
  auto tmp = path;
  tmp += ".new";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (tmp.native().size() >= sizeof(addr.sun_path)) {
    return endpoint_error(fmt::format(
      "console socket path {} is too long for a Unix socket ({} bytes, at "
      "most {}): use a shorter data directory",
      path.string(), tmp.native().size(), sizeof(addr.sun_path) - 1));
  }
  std::memcpy(addr.sun_path, tmp.c_str(), tmp.native().size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return endpoint_error(
      fmt::format("console socket: {}", std::strerror(errno)));
  }
  ::unlink(tmp.c_str());
  // Bound under a temporary name and made private before it appears under
  // the real one, so that nobody else can ever connect.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0
      || ::chmod(tmp.c_str(), 0600) != 0 || ::listen(fd, 16) != 0
      || ::rename(tmp.c_str(), path.c_str()) != 0) {
    auto why = std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return endpoint_error(
      fmt::format("console socket {}: {}", path.string(), why));
  }
  return fd;
}

caf::expected<std::pair<int, std::uint16_t>>
listen_tcp(const runtime::endpoint& ep) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  auto port = std::to_string(ep.port);
  if (int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
      rc != 0) {
    return endpoint_error(fmt::format("console TCP address {}: {}",
                                      runtime::to_string(ep),
                                      ::gai_strerror(rc)));
  }
  std::string why = "no address";
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    std::uint16_t p
      = bound.ss_family == AF_INET6
          ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
          : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    ::freeaddrinfo(res);
    return std::make_pair(fd, p);
  }
  ::freeaddrinfo(res);
  return endpoint_error(
    fmt::format("console TCP listener {}: {}", runtime::to_string(ep), why));
}

std::string peer_of(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return "?";
  }
  char host[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return fmt::format("{}:{}", host, ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return fmt::format("[{}]:{}", host, ntohs(in6->sin6_port));
  }
  return "unix";
}

bool same_secret(const std::string& a, const std::string& b) {
  // Compared as fixed-size digests, in constant time.
  unsigned char da[32];
  unsigned char db[32];
  crypto_generichash(da, sizeof(da),
                     reinterpret_cast<const unsigned char*>(a.data()), a.size(),
                     nullptr, 0);
  crypto_generichash(db, sizeof(db),
                     reinterpret_cast<const unsigned char*>(b.data()), b.size(),
                     nullptr, 0);
  return sodium_memcmp(da, db, sizeof(da)) == 0;
}

void refuse(int fd, const std::string& why) {
  // Best effort: the peer may already be gone.
  (void)write_frame(fd,
                    encode_reply(actors::console_reply::failure(why), false));
}

} // namespace

caf::expected<std::unique_ptr<console_server>>
console_server::start(options opts, const actors::console_registry& registry) {
  if (opts.tcp && opts.token.empty()) {
    return endpoint_error("the console's TCP listener needs a token");
  }
  std::unique_ptr<console_server> self{
    new console_server(std::move(opts), registry)};
  auto ufd = listen_unix(self->opts_.socket_path);
  if (!ufd) {
    return std::move(ufd.error());
  }
  self->unix_fd_ = *ufd;
  if (self->opts_.tcp) {
    auto tcp = listen_tcp(*self->opts_.tcp);
    if (!tcp) {
      return std::move(tcp.error());
    }
    self->tcp_fd_ = tcp->first;
    self->tcp_port_ = tcp->second;
  }
  if (::pipe2(self->wake_, O_CLOEXEC) != 0) {
    return endpoint_error(fmt::format("console: {}", std::strerror(errno)));
  }
  self->acceptor_ = std::thread{[s = self.get()] { s->accept_loop(); }};
  self->opts_.log->info(
    "event=console.listen socket={} tcp={}", self->opts_.socket_path.string(),
    self->opts_.tcp
      ? fmt::format("{}:{}", self->opts_.tcp->host, self->tcp_port_)
      : std::string{"off"});
  return self;
}

console_server::console_server(options opts,
                               const actors::console_registry& registry)
  : opts_(std::move(opts)), registry_(&registry),
    auth_tokens_(opts_.auth_burst),
    auth_updated_(std::chrono::steady_clock::now()) {}

console_server::~console_server() {
  stopping_ = true;
  if (wake_[1] >= 0) {
    char c = 0;
    (void)!::write(wake_[1], &c, 1);
  }
  if (acceptor_.joinable()) {
    acceptor_.join();
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& c : conns_) {
      ::shutdown(c.fd, SHUT_RDWR);
    }
  }
  reap(true);
  for (int fd : {unix_fd_, tcp_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  if (unix_fd_ >= 0) {
    ::unlink(opts_.socket_path.c_str());
  }
}

void console_server::accept_loop() {
  while (!stopping_) {
    pollfd fds[3] = {{.fd = wake_[0], .events = POLLIN, .revents = 0},
                     {.fd = unix_fd_, .events = POLLIN, .revents = 0},
                     {.fd = tcp_fd_, .events = POLLIN, .revents = 0}};
    nfds_t n = tcp_fd_ >= 0 ? 3 : 2;
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      opts_.log->error("event=console.poll_failed reason=\"{}\"",
                       std::strerror(errno));
      return;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      return;
    }
    reap(false);
    if ((fds[1].revents & POLLIN) != 0) {
      accept_one(unix_fd_, false);
    }
    if (n == 3 && (fds[2].revents & POLLIN) != 0) {
      accept_one(tcp_fd_, true);
    }
  }
}

void console_server::accept_one(int listener, bool tcp) {
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    return; // the client gave up already, or we are out of descriptors
  }
  std::lock_guard<std::mutex> guard{mtx_};
  if (tcp) {
    auto now = std::chrono::steady_clock::now();
    auto refill = std::chrono::duration<double>(now - auth_updated_)
                  / opts_.auth_refill;
    auth_tokens_ = std::min<double>(opts_.auth_burst, auth_tokens_ + refill);
    auth_updated_ = now;
    if (auth_tokens_ < 1.0) {
      // Too many failed attempts lately: refuse without reading.
      ++refused_unlogged_;
      if (now - last_refusal_log_ >= 1s) {
        opts_.log->warn("event=console.rate_limited peer={} refused={}",
                        peer_of(fd), refused_unlogged_);
        refused_unlogged_ = 0;
        last_refusal_log_ = now;
      }
      refuse(fd, "too many failed authentications: try again later");
      ::close(fd);
      return;
    }
  }
  size_t active = 0;
  for (const auto& c : conns_) {
    active += c.done ? 0 : 1;
  }
  if (active >= opts_.max_connections) {
    opts_.log->warn("event=console.refused reason=too_many_connections "
                    "active={}",
                    active);
    refuse(fd, fmt::format("too many console connections (at most {})",
                           opts_.max_connections));
    ::close(fd);
    return;
  }
  auto& conn = conns_.emplace_back();
  conn.fd = fd;
  conn.tcp = tcp;
  conn.thread = std::thread{[this, &conn] { serve(conn); }};
}

void console_server::reap(bool all) {
  std::list<connection> finished;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto i = conns_.begin(); i != conns_.end();) {
      if (all || i->done) {
        auto next = std::next(i);
        finished.splice(finished.end(), conns_, i);
        i = next;
      } else {
        ++i;
      }
    }
  }
  for (auto& c : finished) {
    c.thread.join();
    ::close(c.fd);
  }
}

bool console_server::authenticate(connection& conn, const std::string& token) {
  if (same_secret(token, opts_.token)) {
    return true;
  }
  std::lock_guard<std::mutex> guard{mtx_};
  auth_tokens_ = std::max(0.0, auth_tokens_ - 1.0);
  auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log_ >= 1s) {
    opts_.log->warn("event=console.auth_failed peer={} suppressed={}",
                    peer_of(conn.fd), refused_unlogged_);
    refused_unlogged_ = 0;
    last_refusal_log_ = now;
  } else {
    ++refused_unlogged_;
  }
  return false;
}

void console_server::serve(connection& conn) {
  auto peer = conn.tcp ? peer_of(conn.fd) : std::string{"unix"};
  bool authenticated = !conn.tcp;
  std::string body;
  while (!stopping_) {
    std::uint32_t announced = 0;
    auto first_wait
      = authenticated ? std::nullopt
                      : std::optional<std::chrono::milliseconds>{auth_timeout};
    auto status = read_frame(conn.fd, console_max_request_bytes, body,
                             first_wait, frame_timeout, &announced);
    if (status == frame_status::closed || status == frame_status::failed) {
      break;
    }
    if (status == frame_status::too_large) {
      opts_.log->warn("event=console.bad_request peer={} reason=too_large "
                      "bytes={}",
                      peer, announced);
      refuse(conn.fd, fmt::format("a request of {} bytes exceeds the limit "
                                  "of {} bytes; closing",
                                  announced, console_max_request_bytes));
      break;
    }
    auto req = decode_request(body);
    if (!req) {
      auto why = runtime::describe(req.error());
      opts_.log->warn("event=console.bad_request peer={} reason=\"{}\"", peer,
                      why);
      refuse(conn.fd, fmt::format("bad request: {}; closing", why));
      break;
    }
    if (!authenticated) {
      if (!authenticate(conn, req->token)) {
        refuse(conn.fd, "authentication failed");
        break;
      }
      authenticated = true;
    }
    auto reply = registry_->run(req->args, req->json, req->confirmed);
    auto line = fmt::format("{}", fmt::join(req->args, " "));
    if (line.size() > 200) {
      line = line.substr(0, 200) + "...";
    }
    for (auto& ch : line) {
      // One log line per command, whatever the client sent.
      if (static_cast<unsigned char>(ch) < 0x20 || ch == '"') {
        ch = '?';
      }
    }
    opts_.log->info("event=console.command peer={} command=\"{}\" ok={}", peer,
                    line, reply.ok);
    if (write_frame(conn.fd, encode_reply(reply, req->json))) {
      break; // the client went away mid-command
    }
  }
  // The client sees the end at once; the descriptor is closed when the
  // thread is reaped.
  ::shutdown(conn.fd, SHUT_RDWR);
  conn.done = true;
}

} // namespace troupe

// The console's endpoints: a Unix socket and an optional TCP listener.
#include "console_server.hpp"

#include "../actors/errors.hpp"
#include "../runtime/errors.hpp"
#include "console_protocol.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sodium.h>

#include <algorithm>
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
      || ::chmod(tmp.c_str(), 0600) != 0 || ::listen(fd, SOMAXCONN) != 0
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
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0
        || ::listen(fd, SOMAXCONN) != 0) {
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

// The address of a TCP peer without its port: the unit of rate limiting.
std::string source_of(int fd) {
  auto peer = peer_of(fd);
  auto colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
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
  if (::pipe2(self->wake_, O_CLOEXEC) != 0
      || ::pipe2(self->freed_, O_CLOEXEC | O_NONBLOCK) != 0) {
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
    limiter_(opts_.auth_burst, opts_.auth_refill) {}

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
  for (const auto& w : waiting_) {
    ::close(w.fd);
  }
  waiting_.clear();
  for (int fd : {unix_fd_, tcp_fd_, wake_[0], wake_[1], freed_[0], freed_[1]}) {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  if (unix_fd_ >= 0) {
    ::unlink(opts_.socket_path.c_str());
  }
}

void console_server::accept_loop() {
  std::optional<std::chrono::milliseconds> next_deadline;
  while (!stopping_) {
    pollfd fds[4] = {{.fd = wake_[0], .events = POLLIN, .revents = 0},
                     {.fd = freed_[0], .events = POLLIN, .revents = 0},
                     {.fd = unix_fd_, .events = POLLIN, .revents = 0},
                     {.fd = tcp_fd_, .events = POLLIN, .revents = 0}};
    nfds_t n = tcp_fd_ >= 0 ? 4 : 3;
    int timeout = next_deadline ? static_cast<int>(next_deadline->count()) + 1
                                : -1;
    if (::poll(fds, n, timeout) < 0) {
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
    if ((fds[1].revents & POLLIN) != 0) {
      char buf[64];
      while (::read(freed_[0], buf, sizeof(buf)) > 0) {
      }
    }
    reap(false);
    if ((fds[2].revents & POLLIN) != 0) {
      accept_one(unix_fd_, false);
    }
    if (n == 4 && (fds[3].revents & POLLIN) != 0) {
      accept_one(tcp_fd_, true);
    }
    next_deadline = admit_waiting();
  }
}

std::size_t console_server::active(bool tcp) const {
  std::size_t n = 0;
  for (const auto& c : conns_) {
    n += !c.done && c.tcp == tcp ? 1 : 0;
  }
  return n;
}

void console_server::start_serving(int fd, bool tcp) {
  auto& conn = conns_.emplace_back();
  conn.fd = fd;
  conn.tcp = tcp;
  conn.thread = std::thread{[this, &conn] { serve(conn); }};
}

void console_server::accept_one(int listener, bool tcp) {
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    return; // the client gave up already, or we are out of descriptors
  }
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = std::chrono::steady_clock::now();
  if (tcp && !limiter_.allows(source_of(fd), now)) {
    // Too many failed attempts from there lately: refuse without reading.
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
  if (active(tcp) < opts_.max_connections) {
    start_serving(fd, tcp);
    return;
  }
  auto queued = std::count_if(waiting_.begin(), waiting_.end(),
                              [tcp](const waiting& w) { return w.tcp == tcp; });
  if (static_cast<std::size_t>(queued) < opts_.max_waiting) {
    waiting_.push_back(
      {.fd = fd, .tcp = tcp, .deadline = now + opts_.queue_wait});
    return;
  }
  opts_.log->warn("event=console.refused reason=too_many_connections "
                  "endpoint={} active={} waiting={}",
                  tcp ? "tcp" : "unix", opts_.max_connections, queued);
  refuse(fd, fmt::format("too many console connections (at most {}, and {} "
                         "waiting)",
                         opts_.max_connections, opts_.max_waiting));
  ::close(fd);
}

std::optional<std::chrono::milliseconds> console_server::admit_waiting() {
  std::lock_guard<std::mutex> guard{mtx_};
  auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::milliseconds> next;
  std::size_t free[2] = {0, 0};
  for (bool tcp : {false, true}) {
    auto used = active(tcp);
    free[tcp ? 1 : 0]
      = used < opts_.max_connections ? opts_.max_connections - used : 0;
  }
  for (auto i = waiting_.begin(); i != waiting_.end();) {
    auto& slots = free[i->tcp ? 1 : 0];
    if (slots > 0) {
      --slots;
      start_serving(i->fd, i->tcp);
      i = waiting_.erase(i);
    } else if (i->deadline <= now) {
      opts_.log->warn("event=console.refused reason=no_slot_in_time "
                      "endpoint={}",
                      i->tcp ? "tcp" : "unix");
      refuse(i->fd,
             fmt::format("too many console connections (at most {}); "
                         "no slot within {}ms",
                         opts_.max_connections, opts_.queue_wait.count()));
      ::close(i->fd);
      i = waiting_.erase(i);
    } else {
      auto left
        = std::chrono::ceil<std::chrono::milliseconds>(i->deadline - now);
      next = next ? std::min(*next, left) : left;
      ++i;
    }
  }
  return next;
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
  auto now = std::chrono::steady_clock::now();
  limiter_.failed(source_of(conn.fd), now);
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
  bool first = true;
  std::string body;
  while (!stopping_) {
    std::uint32_t announced = 0;
    // Idle before the first request: closed (it holds a slot for nothing).
    auto first_wait
      = first
          ? std::optional<std::chrono::milliseconds>{opts_
                                                       .first_request_timeout}
          : std::nullopt;
    auto status = read_frame(conn.fd, console_max_request_bytes, body,
                             first_wait, frame_timeout, &announced);
    if (status == frame_status::closed || status == frame_status::failed) {
      if (first && status == frame_status::failed) {
        opts_.log->info("event=console.idle_closed peer={}", peer);
      }
      break;
    }
    first = false;
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
  char c = 0;
  (void)!::write(freed_[1], &c, 1); // the acceptor admits a waiting one
}

} // namespace troupe

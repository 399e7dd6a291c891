// A client of a node's console.
#include "console_client.hpp"

#include "../actors/errors.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace troupe {

namespace {

caf::error connect_error(std::string text) {
  return caf::make_error(caf::sec::cannot_connect_to_node, std::move(text));
}

} // namespace

caf::expected<console_client>
console_client::connect_unix(const std::filesystem::path& socket) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.native().size() >= sizeof(addr.sun_path)) {
    return connect_error(
      fmt::format("socket path {} is too long", socket.string()));
  }
  std::memcpy(addr.sun_path, socket.c_str(), socket.native().size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return connect_error(std::strerror(errno));
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    auto why = std::strerror(errno);
    ::close(fd);
    return connect_error(fmt::format("cannot connect to {}: {} (is the node "
                                     "running, and is this its data "
                                     "directory?)",
                                     socket.string(), why));
  }
  return console_client{fd};
}

caf::expected<console_client>
console_client::connect_tcp(const runtime::endpoint& ep, std::string token) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  auto port = std::to_string(ep.port);
  if (int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
      rc != 0) {
    return connect_error(
      fmt::format("{}: {}", runtime::to_string(ep), ::gai_strerror(rc)));
  }
  std::string why = "no address";
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      return console_client{fd, std::move(token)};
    }
    why = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return connect_error(
    fmt::format("cannot connect to {}: {}", runtime::to_string(ep), why));
}

console_client::console_client(console_client&& other) noexcept
  : fd_(other.fd_), token_(std::move(other.token_)) {
  other.fd_ = -1;
}

console_client& console_client::operator=(console_client&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = other.fd_;
    token_ = std::move(other.token_);
    other.fd_ = -1;
  }
  return *this;
}

console_client::~console_client() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

caf::expected<actors::console_reply>
console_client::call(const std::vector<std::string>& args, bool json,
                     bool confirmed, std::chrono::milliseconds timeout) {
  if (fd_ < 0) {
    return connect_error("not connected");
  }
  console_request req{
    .args = args, .json = json, .confirmed = confirmed, .token = token_};
  if (auto err = write_frame(fd_, encode_request(req))) {
    return err;
  }
  // The token goes only with the first request.
  token_.clear();
  std::string body;
  std::uint32_t announced = 0;
  switch (read_frame(fd_, console_max_reply_bytes, body, timeout, timeout,
                     &announced)) {
    case frame_status::ok:
      return decode_reply(body);
    case frame_status::closed:
      return connect_error("the node closed the connection");
    case frame_status::too_large:
      return connect_error(fmt::format(
        "a reply of {} bytes is larger than this client accepts", announced));
    case frame_status::failed:
      break;
  }
  return connect_error(fmt::format(
    "no reply within {} ms, or the connection broke", timeout.count()));
}

} // namespace troupe

// A client of a node's console, for troupectl and tests: connects to the
// Unix socket or to TCP with the token, sends requests, reads replies.
#pragma once

#include "../actors/console.hpp"
#include "../runtime/config.hpp"
#include "console_protocol.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe {

class console_client {
public:
  /// Connects to a node's Unix socket.
  static caf::expected<console_client>
  connect_unix(const std::filesystem::path& socket);

  /// Connects over TCP; `token` goes with the first request.
  static caf::expected<console_client> connect_tcp(const runtime::endpoint& ep,
                                                   std::string token);

  console_client(console_client&& other) noexcept;
  console_client& operator=(console_client&& other) noexcept;
  console_client(const console_client&) = delete;
  console_client& operator=(const console_client&) = delete;
  ~console_client();

  /// Runs one command and waits at most `timeout` for the reply. Errors:
  /// the connection failed or closed, or the reply is unreadable.
  caf::expected<actors::console_reply>
  call(const std::vector<std::string>& args, bool json = false,
       bool confirmed = false,
       std::chrono::milliseconds timeout = std::chrono::seconds{60});

  /// The socket, for tests that write raw bytes.
  int fd() const {
    return fd_;
  }

private:
  explicit console_client(int fd, std::string token = {})
    : fd_(fd), token_(std::move(token)) {}

  int fd_ = -1;
  std::string token_;
};

} // namespace troupe

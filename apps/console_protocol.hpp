// The console protocol between troupectl and a node: length-prefixed JSON
// frames over a Unix or TCP socket, versioned.
//
// Each frame is a 4-byte big-endian length, then that many bytes of JSON.
// Request: {"v": 1, "args": ["ring", "full"], "json": false, "yes": false,
// "token": "..."} (the token only over TCP, in the first request). Reply:
// {"v": 1, "ok": true, "text": "...", "data": {...}} ("data" only when the
// request asked for JSON). A node answers a request it cannot read with an
// error reply and closes the connection.
#pragma once

#include "../actors/console.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace troupe {

/// The protocol version this build speaks.
constexpr std::uint32_t console_protocol_version = 1;

/// Largest request a node reads (a command line, not a payload).
constexpr std::size_t console_max_request_bytes = 64 * 1024;

/// Largest reply a client reads (`ring full --json` of a large ring).
constexpr std::size_t console_max_reply_bytes = 64 * 1024 * 1024;

/// One console request.
struct console_request {
  std::vector<std::string> args;
  bool json = false;
  /// `--yes`: the caller confirms a destructive command.
  bool confirmed = false;
  /// The TCP token; empty over the Unix socket.
  std::string token{};
};

std::string encode_request(const console_request& req);

/// Parses a request body; errors say what is wrong in one line.
caf::expected<console_request> decode_request(std::string_view body);

/// Encodes a reply; `data` goes along only if `json` is set.
std::string encode_reply(const actors::console_reply& reply, bool json);

caf::expected<actors::console_reply> decode_reply(std::string_view body);

/// Writes one frame to a blocking socket (no SIGPIPE).
caf::error write_frame(int fd, std::string_view body);

/// What `read_frame` saw.
enum class frame_status {
  ok,
  closed,    ///< the peer closed the connection before a frame began
  too_large, ///< the length prefix exceeds the limit (nothing read after it)
  failed,    ///< a read error, a timeout, or a frame cut short
};

/// Reads one frame of at most `max` bytes from a blocking socket. Waits
/// without end for a frame to begin (or until `first_byte_timeout`), then
/// at most `rest_timeout` for the rest of it.
frame_status
read_frame(int fd, std::size_t max, std::string& out,
           std::optional<std::chrono::milliseconds> first_byte_timeout,
           std::chrono::milliseconds rest_timeout,
           std::uint32_t* announced = nullptr);

} // namespace troupe

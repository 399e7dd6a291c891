// The console protocol between troupectl and a node.
#include "console_protocol.hpp"

#include "../actors/errors.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include <poll.h>
#include <sys/socket.h>

namespace troupe {

namespace {

caf::error bad(std::string text) {
  return caf::make_error(actors::errc::bad_console_input, std::move(text));
}

caf::error check_version(const nlohmann::json& j) {
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_unsigned()) {
    return bad("not a console message (no protocol version)");
  }
  if (v->get<std::uint64_t>() != console_protocol_version) {
    return bad(fmt::format("protocol version {} is not supported (this side "
                           "speaks {})",
                           v->get<std::uint64_t>(), console_protocol_version));
  }
  return {};
}

template <class T>
bool get_optional(const nlohmann::json& j, const char* key, T& out) {
  auto i = j.find(key);
  if (i == j.end()) {
    return true;
  }
  if constexpr (std::is_same_v<T, bool>) {
    if (!i->is_boolean()) {
      return false;
    }
  } else {
    if (!i->is_string()) {
      return false;
    }
  }
  out = i->get<T>();
  return true;
}

// Waits until `fd` is readable or `timeout` passes; true if readable.
bool wait_readable(int fd, std::optional<std::chrono::milliseconds> timeout) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  for (;;) {
    int n = ::poll(&p, 1, timeout ? static_cast<int>(timeout->count()) : -1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    return n > 0;
  }
}

// Reads exactly `n` bytes before `deadline`.
bool read_exactly(int fd, char* buf, std::size_t n,
                  std::chrono::steady_clock::time_point deadline) {
  std::size_t got = 0;
  while (got < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !wait_readable(fd, left)) {
      return false;
    }
    auto r = ::recv(fd, buf + got, n - got, 0);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return false;
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

} // namespace

std::string encode_request(const console_request& req) {
  nlohmann::json j{{"v", console_protocol_version},
                   {"args", req.args},
                   {"json", req.json},
                   {"yes", req.confirmed}};
  if (!req.token.empty()) {
    j["token"] = req.token;
  }
  return j.dump();
}

caf::expected<console_request> decode_request(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return bad("the request is not a JSON object");
  }
  if (auto err = check_version(j)) {
    return err;
  }
  console_request req;
  auto args = j.find("args");
  if (args == j.end() || !args->is_array() || args->empty()) {
    return bad("the request has no command (\"args\" must be a non-empty "
               "array of strings)");
  }
  for (const auto& a : *args) {
    if (!a.is_string()) {
      return bad("\"args\" must hold only strings");
    }
    req.args.push_back(a.get<std::string>());
  }
  if (!get_optional(j, "json", req.json)
      || !get_optional(j, "yes", req.confirmed)
      || !get_optional(j, "token", req.token)) {
    return bad("\"json\" and \"yes\" must be booleans, \"token\" a string");
  }
  return req;
}

std::string encode_reply(const actors::console_reply& reply, bool json) {
  nlohmann::json j{
    {"v", console_protocol_version}, {"ok", reply.ok}, {"text", reply.text}};
  if (json) {
    j["data"] = reply.data.is_null() ? nlohmann::json{{"text", reply.text}}
                                     : reply.data;
  }
  // Invalid UTF-8 (e.g. from a log line) is replaced, never thrown on.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

caf::expected<actors::console_reply> decode_reply(std::string_view body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return bad("the reply is not a JSON object");
  }
  if (auto err = check_version(j)) {
    return err;
  }
  auto ok = j.find("ok");
  auto text = j.find("text");
  if (ok == j.end() || !ok->is_boolean() || text == j.end()
      || !text->is_string()) {
    return bad("the reply lacks \"ok\" or \"text\"");
  }
  actors::console_reply reply;
  reply.ok = ok->get<bool>();
  reply.text = text->get<std::string>();
  if (auto data = j.find("data"); data != j.end()) {
    reply.data = *data;
  }
  return reply;
}

caf::error write_frame(int fd, std::string_view body) {
  auto n = static_cast<std::uint32_t>(body.size());
  unsigned char prefix[4]
    = {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
       static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  std::string frame(reinterpret_cast<const char*>(prefix), 4);
  frame.append(body);
  std::size_t sent = 0;
  while (sent < frame.size()) {
    auto r = ::send(fd, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return bad(fmt::format("cannot write to the console connection: {}",
                             std::strerror(errno)));
    }
    sent += static_cast<std::size_t>(r);
  }
  return {};
}

frame_status
read_frame(int fd, std::size_t max, std::string& out,
           std::optional<std::chrono::milliseconds> first_byte_timeout,
           std::chrono::milliseconds rest_timeout, std::uint32_t* announced) {
  if (!wait_readable(fd, first_byte_timeout)) {
    return frame_status::failed;
  }
  unsigned char prefix[4];
  auto deadline = std::chrono::steady_clock::now() + rest_timeout;
  // A peer that closes before sending anything ends the session cleanly.
  ssize_t first = 0;
  do {
    first = ::recv(fd, prefix, 1, 0);
  } while (first < 0 && errno == EINTR);
  if (first == 0) {
    return frame_status::closed;
  }
  if (first < 0
      || !read_exactly(fd, reinterpret_cast<char*>(prefix) + 1, 3, deadline)) {
    return frame_status::failed;
  }
  std::uint32_t n = (std::uint32_t{prefix[0]} << 24)
                    | (std::uint32_t{prefix[1]} << 16)
                    | (std::uint32_t{prefix[2]} << 8)
                    | std::uint32_t{prefix[3]};
  if (announced != nullptr) {
    *announced = n;
  }
  if (n > max) {
    return frame_status::too_large;
  }
  out.resize(n);
  if (n > 0 && !read_exactly(fd, out.data(), n, deadline)) {
    return frame_status::failed;
  }
  return frame_status::ok;
}

} // namespace troupe

// A peer spoken by hand.
#include "troupe/testkit/raw_peer.hpp"

#include "troupe/testkit/read_exactly.hpp"

#include <sys/socket.h>

namespace troupe::testkit {

namespace wire = cluster::wire;

bool write_frame(int fd, const wire::frame& f) {
  auto body = wire::encode(f);
  auto n = static_cast<std::uint32_t>(body.size());
  std::vector<std::uint8_t> out{static_cast<std::uint8_t>(n >> 24),
                                static_cast<std::uint8_t>(n >> 16),
                                static_cast<std::uint8_t>(n >> 8),
                                static_cast<std::uint8_t>(n)};
  out.insert(out.end(), body.begin(), body.end());
  return ::send(fd, out.data(), out.size(), MSG_NOSIGNAL)
         == static_cast<ssize_t>(out.size());
}

std::vector<std::uint8_t> read_frame_body(int fd) {
  std::uint8_t len[4];
  if (!read_exactly(fd, len, 4)) {
    return {};
  }
  std::vector<std::uint8_t> body(
    (std::size_t{len[0]} << 24) | (std::size_t{len[1]} << 16)
    | (std::size_t{len[2]} << 8) | std::size_t{len[3]});
  if (!read_exactly(fd, body.data(), body.size())) {
    return {};
  }
  return body;
}

std::optional<cluster::handshake_transcript>
dial_handshake(int fd, const cluster::context& ctx, const std::string& node_id,
               const std::string& challenge, const std::string& offer) {
  auto first = read_frame_body(fd);
  auto theirs = wire::decode(first.data(), first.size());
  if (!theirs || !std::holds_alternative<wire::hello>(*theirs)) {
    return std::nullopt;
  }
  const auto& h = std::get<wire::hello>(*theirs);
  cluster::handshake_transcript t{.cluster = ctx.settings.name,
                                  .protocol = wire::protocol_version,
                                  .initiator_id = node_id,
                                  .responder_id = h.node_id,
                                  .initiator_challenge = challenge,
                                  .responder_challenge = h.challenge};
  if (!offer.empty()) {
    t.initiator_offer = offer;
    t.responder_offer = h.security;
  }
  bool sent
    = write_frame(fd, wire::hello{.node_id = node_id,
                                  .name = "raw@127.0.0.1",
                                  .address = {.host = "127.0.0.1", .port = 1},
                                  .incarnation = 1,
                                  .challenge = challenge,
                                  .cluster = ctx.settings.name,
                                  .security = offer})
      && write_frame(
        fd, wire::auth{.mac = cluster::handshake_proof(
                         ctx.key, t, cluster::handshake_role::initiator)});
  if (!sent) {
    return std::nullopt;
  }
  auto answer = read_frame_body(fd);
  auto proof = wire::decode(answer.data(), answer.size());
  if (!proof || !std::holds_alternative<wire::auth>(*proof)
      || !cluster::handshake_verify(ctx.key, t,
                                    cluster::handshake_role::responder,
                                    std::get<wire::auth>(*proof).mac)) {
    return std::nullopt;
  }
  return t;
}

} // namespace troupe::testkit

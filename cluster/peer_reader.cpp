// The receiving side of an authenticated connection, read by the
// scheduler's workers.
#include "peer_reader.hpp"

#include "../runtime/errors.hpp"
#include "atoms.hpp"
#include "transport.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/send.hpp>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

namespace troupe::cluster {

namespace {

// Bytes asked of the socket per read, and read per turn at most (then the
// socket goes back to the poller, so that one busy peer does not hold a
// worker).
constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t read_budget = 4 * read_chunk;

// Enqueues a message from no actor, to run next on `eu`'s worker.
template <class... Ts>
void enqueue_on(const caf::actor& to, caf::execution_unit* eu, Ts&&... xs) {
  to->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {},
                                        std::forward<Ts>(xs)...),
              eu);
}

} // namespace

peer_reader::peer_reader(context_ptr ctx, int fd, std::string peer_id,
                         std::string peer_name, std::int64_t connection,
                         caf::actor_addr transport, session_inbox inbox,
                         runtime::counter* frames, runtime::counter* bytes)
  : ctx_(std::move(ctx)), fd_(fd), peer_id_(std::move(peer_id)),
    peer_name_(std::move(peer_name)), connection_(connection),
    transport_(std::move(transport)), frames_(frames), bytes_(bytes),
    inbox_(std::move(inbox)) {}

peer_reader::~peer_reader() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

void peer_reader::shut_down() {
  shutdown(fd_, SHUT_RDWR);
}

bool peer_reader::start() {
  return deliver_frames(nullptr);
}

bool peer_reader::on_readable(caf::execution_unit* eu) {
  if (ended_) {
    return false;
  }
  // This runs inside the scheduler: nothing may escape.
  try {
    return read_some(eu);
  } catch (const std::exception& e) {
    end(fmt::format("reading failed: {}", e.what()), false);
  } catch (...) {
    end("reading failed", false);
  }
  return false;
}

bool peer_reader::read_some(caf::execution_unit* eu) {
  std::size_t taken = 0;
  while (taken < read_budget) {
    auto* room = inbox_.prepare(read_chunk);
    auto n = recv(fd_, room, read_chunk, MSG_DONTWAIT);
    if (n > 0) {
      auto got = static_cast<std::size_t>(n);
      inbox_.commit(got);
      taken += got;
      if (!deliver_frames(eu)) {
        return false;
      }
      if (got < read_chunk) {
        return true; // most likely drained: the poller says if not
      }
      continue;
    }
    if (n == 0) {
      end("connection closed", false);
      return false;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return true;
    }
    end(fmt::format("read failed: {}", std::strerror(errno)), false);
    return false;
  }
  return true;
}

bool peer_reader::deliver_frames(caf::execution_unit* eu) {
  for (auto v = inbox_.next(); v.data != nullptr; v = inbox_.next()) {
    if (frames_ != nullptr) {
      frames_->inc();
      bytes_->inc(4 + v.size);
    }
    auto f = wire::decode(v.data, v.size,
                          {.max_frame_bytes = ctx_->settings.max_frame_bytes});
    if (!f) {
      end(runtime::describe(f.error()), true);
      return false;
    }
    deliver(eu, std::move(*f));
  }
  if (inbox_.broken()) {
    end(inbox_.error(), true);
    return false;
  }
  return true;
}

void peer_reader::deliver(caf::execution_unit* eu, wire::frame f) {
  if (auto* p = std::get_if<wire::payload>(&f)) {
    if (auto h = ctx_->handler(p->kind)) {
      enqueue_on(h, eu, payload_atom::value, peer_id_, std::move(*p));
    } else {
      if (ctx_->metrics != nullptr) {
        ctx_->metrics
          ->add_counter("troupe_cluster_payloads_dropped_total",
                        "cluster transport events")
          .inc();
      }
      ctx_->log("transport")
        ->debug("event=payload.drop peer={} kind={} reason=no_handler",
                peer_name_, p->kind);
    }
    return;
  }
  if (auto* r = std::get_if<wire::route>(&f)) {
    if (ctx_->routes_via_transport.load(std::memory_order_acquire) == 0) {
      if (auto router = ctx_->router()) {
        enqueue_on(router, eu, payload_atom::value, peer_id_, std::move(*r));
        return;
      }
    }
    ctx_->routes_via_transport.fetch_add(1, std::memory_order_acq_rel);
  }
  if (auto transport = caf::actor_cast<caf::actor>(transport_)) {
    caf::anon_send(transport, inbound_atom::value, connection_, std::move(f));
  } else if (std::holds_alternative<wire::route>(f)) {
    ctx_->routes_via_transport.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void peer_reader::end(const std::string& why, bool refused) {
  ended_ = true;
  if (refused && ctx_->metrics != nullptr) {
    ctx_->metrics
      ->add_counter("troupe_cluster_frames_refused_total",
                    "cluster transport events")
      .inc();
  }
  if (auto transport = caf::actor_cast<caf::actor>(transport_)) {
    caf::anon_send(transport, reader_end_atom::value, connection_, why,
                   refused);
  }
}

} // namespace troupe::cluster

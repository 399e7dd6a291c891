// The sending side of the connections to peers.
#include "peer_link.hpp"

#include "../runtime/actor_thread.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace troupe::cluster {

namespace {

// Writes as much of `parts` as the socket takes now. The number of bytes
// written, or -1 on an error other than a full socket.
std::int64_t write_some(int fd, iovec* parts, std::size_t count) {
  msghdr msg{};
  msg.msg_iov = parts;
  msg.msg_iovlen = count;
  std::int64_t total = 0;
  for (;;) {
    while (msg.msg_iovlen > 0 && msg.msg_iov->iov_len == 0) {
      ++msg.msg_iov;
      --msg.msg_iovlen;
    }
    if (msg.msg_iovlen == 0) {
      return total;
    }
    auto sent = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return total;
      }
      return -1;
    }
    total += sent;
    for (auto done = static_cast<std::size_t>(sent); done > 0;) {
      auto take = std::min(done, msg.msg_iov->iov_len);
      msg.msg_iov->iov_base = static_cast<char*>(msg.msg_iov->iov_base) + take;
      msg.msg_iov->iov_len -= take;
      done -= take;
      if (msg.msg_iov->iov_len == 0) {
        ++msg.msg_iov;
        --msg.msg_iovlen;
      }
    }
  }
}

} // namespace

peer_link::peer_link(int fd, std::chrono::milliseconds stall_limit,
                     std::function<void()> kick)
  : fd_(::fcntl(fd, F_DUPFD_CLOEXEC, 0)), stall_limit_(stall_limit),
    kick_(std::move(kick)) {}

peer_link::~peer_link() {
  close();
}

link_write peer_link::write(const std::uint8_t* body, std::size_t size) {
  auto n = static_cast<std::uint32_t>(size);
  std::uint8_t header[4]
    = {static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
       static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
  std::unique_lock<std::mutex> guard{mtx_};
  if (fd_ < 0) {
    return link_write::closed;
  }
  auto now = clock_type::now();
  std::size_t written = 0;
  bool direct = queued() == 0 && !kicked_ && now - last_direct_ >= busy_window;
  if (direct && sealer_) {
    last_direct_ = now;
    scratch_.assign(header, header + sizeof(header));
    scratch_.insert(scratch_.end(), body, body + size);
    sealed_.clear();
    if (!sealer_->seal(scratch_.data(), scratch_.size(), sealed_)) {
      fail();
      return link_write::closed;
    }
    iovec part{sealed_.data(), sealed_.size()};
    auto sent = write_some(fd_, &part, 1);
    if (sent < 0) {
      fail();
      return link_write::closed;
    }
    if (static_cast<std::size_t>(sent) < sealed_.size()) {
      // The socket is full: the rest of the record goes with the next
      // batch.
      pending_.insert(pending_.end(), sealed_.begin() + sent, sealed_.end());
      kicked_ = true;
      last_progress_ = now;
      guard.unlock();
      kick_();
    }
    return link_write::sent;
  }
  if (direct) {
    last_direct_ = now;
    iovec parts[2] = {{header, sizeof(header)},
                      {const_cast<std::uint8_t*>(body), size}};
    auto sent = write_some(fd_, parts, 2);
    if (sent < 0) {
      fail();
      return link_write::closed;
    }
    written = static_cast<std::size_t>(sent);
    if (written == sizeof(header) + size) {
      return link_write::sent;
    }
    // The socket is full: the rest goes with the next batch.
  } else if (queued() > max_queued) {
    if (!runtime::may_wait_here()) {
      return link_write::busy;
    }
    auto deadline = now + stall_limit_;
    if (!room_.wait_until(guard, deadline, [this] {
          return fd_ < 0 || queued() <= max_queued;
        })) {
      fail();
      return link_write::closed;
    }
    if (fd_ < 0) {
      return link_write::closed;
    }
  }
  if (sealer_) {
    plain_.insert(plain_.end(), header, header + sizeof(header));
    plain_.insert(plain_.end(), body, body + size);
  } else if (written < sizeof(header)) {
    pending_.insert(pending_.end(), header + written, header + sizeof(header));
    pending_.insert(pending_.end(), body, body + size);
  } else {
    pending_.insert(pending_.end(), body + (written - sizeof(header)),
                    body + size);
  }
  if (kicked_) {
    return link_write::sent;
  }
  kicked_ = true;
  last_progress_ = now;
  guard.unlock();
  kick_();
  return link_write::sent;
}

peer_link::flush_result peer_link::flush() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (fd_ < 0) {
    return flush_result::broken;
  }
  auto now = clock_type::now();
  if (!plain_.empty() && !seal_plain()) {
    fail();
    return flush_result::broken;
  }
  if (queued() > 0) {
    iovec part{pending_.data() + pending_at_, pending_.size() - pending_at_};
    auto sent = write_some(fd_, &part, 1);
    if (sent < 0) {
      fail();
      return flush_result::broken;
    }
    if (sent > 0) {
      pending_at_ += static_cast<std::size_t>(sent);
      last_progress_ = now;
      room_.notify_all();
    }
  }
  if (queued() > 0) {
    if (now - last_progress_ > stall_limit_) {
      fail();
      return flush_result::broken;
    }
    if (pending_at_ > pending_.size() / 2) {
      pending_.erase(pending_.begin(),
                     pending_.begin()
                       + static_cast<std::ptrdiff_t>(pending_at_));
      pending_at_ = 0;
    }
    return flush_result::again;
  }
  pending_.clear();
  pending_at_ = 0;
  kicked_ = false;
  return flush_result::done;
}

void peer_link::secure(record_sealer sealer) {
  std::lock_guard<std::mutex> guard{mtx_};
  sealer_.emplace(std::move(sealer));
}

bool peer_link::seal_plain() {
  if (pending_at_ > 0 && pending_at_ == pending_.size()) {
    pending_.clear();
    pending_at_ = 0;
  }
  bool ok = sealer_->seal(plain_.data(), plain_.size(), pending_);
  plain_.clear();
  return ok;
}

void peer_link::fail() {
  // The transport reads the same socket: shutting it down makes it see the
  // connection close, and the usual peer-down path runs.
  ::shutdown(fd_, SHUT_RDWR);
  ::close(fd_);
  fd_ = -1;
  pending_.clear();
  pending_at_ = 0;
  plain_.clear();
  room_.notify_all();
}

void peer_link::close() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  pending_.clear();
  pending_at_ = 0;
  plain_.clear();
  room_.notify_all();
}

bool peer_link::closed() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return fd_ < 0;
}

} // namespace troupe::cluster

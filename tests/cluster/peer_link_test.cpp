// The sending side of a peer connection, on a local socket pair: frames
// written at once or queued and batched, never interleaved, in order per
// thread; a closed link refuses; a peer that stops reading breaks it.
#include "troupe/cluster/peer_link.hpp"
#include "troupe/cluster/session.hpp"
#include "troupe/runtime/actor_thread.hpp"
#include "troupe/testkit/read_exactly.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tc = troupe::cluster;
using namespace std::chrono_literals;

namespace {

// A connected pair of stream sockets; the sending end is non-blocking, as
// the transport keeps its sockets.
struct socket_pair {
  int send_end = -1;
  int recv_end = -1;

  explicit socket_pair(int send_buffer = 0) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    send_end = fds[0];
    recv_end = fds[1];
    ::fcntl(send_end, F_SETFL, ::fcntl(send_end, F_GETFL) | O_NONBLOCK);
    if (send_buffer > 0) {
      ::setsockopt(send_end, SOL_SOCKET, SO_SNDBUF, &send_buffer,
                   sizeof(send_buffer));
    }
  }
  ~socket_pair() {
    ::close(send_end);
    ::close(recv_end);
  }
};

// Reads one length-prefixed frame (blocking); nullopt at the end.
std::optional<std::string> read_frame(int fd) {
  auto read_all = [fd](char* out, std::size_t n) {
    return troupe::testkit::read_exactly(fd, out, n);
  };
  unsigned char header[4];
  if (!read_all(reinterpret_cast<char*>(header), 4)) {
    return std::nullopt;
  }
  auto n = (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16)
           | (std::uint32_t{header[2]} << 8) | std::uint32_t{header[3]};
  std::string body(n, '\0');
  if (!read_all(body.data(), n)) {
    return std::nullopt;
  }
  return body;
}

tc::link_write write_as(tc::peer_link& link, const std::string& text) {
  return link.write(reinterpret_cast<const std::uint8_t*>(text.data()),
                    text.size());
}

bool write_text(tc::peer_link& link, const std::string& text) {
  return write_as(link, text) == tc::link_write::sent;
}

// Plays the transport's part: flushes the link on a thread of its own
// whenever it is kicked, until everything is out.
class flusher {
public:
  void kick() {
    std::lock_guard<std::mutex> guard{mtx_};
    ++kicks_;
    cv_.notify_all();
  }
  void run(tc::peer_link& link) {
    thread_ = std::thread{[this, &link] {
      std::unique_lock<std::mutex> guard{mtx_};
      for (;;) {
        cv_.wait(guard, [this] { return stop_ || kicks_ > handled_; });
        if (stop_) {
          return;
        }
        handled_ = kicks_;
        guard.unlock();
        while (link.flush() == tc::peer_link::flush_result::again) {
          std::this_thread::yield();
        }
        guard.lock();
      }
    }};
  }
  void stop() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stop_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  int kicks() {
    std::lock_guard<std::mutex> guard{mtx_};
    return kicks_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  int kicks_ = 0;
  int handled_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

} // namespace

TEST_CASE("a link writes a length-prefixed frame") {
  socket_pair s;
  tc::peer_link link{s.send_end, 1s, [] {}};
  REQUIRE(write_text(link, "hello"));
  // Written at once or queued: either way it arrives after a flush.
  while (link.flush() == tc::peer_link::flush_result::again) {
  }
  CHECK(read_frame(s.recv_end) == "hello");
}

TEST_CASE("frames that find the socket full are queued, written by flush, "
          "and keep their order") {
  socket_pair s{4096};
  flusher f;
  tc::peer_link link{s.send_end, 10s, [&f] { f.kick(); }};
  f.run(link);
  // The first frame cannot fit: its rest is queued, and the link asks for
  // a batch write.
  std::string big(1 << 20, 'b');
  std::vector<std::string> sent{big};
  REQUIRE(write_text(link, big));
  CHECK(f.kicks() >= 1);
  for (int i = 0; i < 100; ++i) {
    sent.push_back("small " + std::to_string(i));
    REQUIRE(write_text(link, sent.back()));
  }
  for (const auto& expected : sent) {
    auto got = read_frame(s.recv_end);
    REQUIRE(got.has_value());
    CHECK(got->size() == expected.size());
    CHECK(*got == expected);
  }
  f.stop();
}

TEST_CASE("frames from several threads never interleave and keep each "
          "thread's order") {
  socket_pair s{64 * 1024};
  flusher f;
  tc::peer_link link{s.send_end, 10s, [&f] { f.kick(); }};
  f.run(link);
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::vector<std::thread> senders;
  std::atomic<int> failed{0};
  for (int t = 0; t < threads; ++t) {
    senders.emplace_back([&link, &failed, t] {
      for (int i = 0; i < per_thread; ++i) {
        // Sizes vary, some larger than the socket's buffer.
        std::string body = std::to_string(t) + ":" + std::to_string(i) + ":";
        body.append(static_cast<std::size_t>((i * 7919 + t) % 3000)
                      * (i % 97 == 0 ? 50 : 1),
                    static_cast<char>('a' + t));
        if (!write_text(link, body)) {
          ++failed;
        }
      }
    });
  }
  std::vector<int> next(threads, 0);
  for (int n = 0; n < threads * per_thread; ++n) {
    auto got = read_frame(s.recv_end);
    REQUIRE(got.has_value());
    auto first = got->find(':');
    auto second = got->find(':', first + 1);
    REQUIRE(second != std::string::npos);
    int t = std::stoi(got->substr(0, first));
    int i = std::stoi(got->substr(first + 1, second - first - 1));
    REQUIRE(t >= 0);
    REQUIRE(t < threads);
    CHECK(i == next[t]);
    next[t] = i + 1;
    auto fill = got->substr(second + 1);
    CHECK(fill.find_first_not_of(static_cast<char>('a' + t))
          == std::string::npos);
  }
  for (auto& th : senders) {
    th.join();
  }
  CHECK(failed == 0);
  f.stop();
}

TEST_CASE("a closed link refuses frames") {
  socket_pair s;
  tc::peer_link link{s.send_end, 1s, [] {}};
  link.close();
  CHECK(link.closed());
  CHECK_FALSE(write_text(link, "late"));
  CHECK(link.flush() == tc::peer_link::flush_result::broken);
}

TEST_CASE("a peer that stops reading breaks the link after the stall limit, "
          "and the connection is shut down") {
  socket_pair s{4096};
  tc::peer_link link{s.send_end, 100ms, [] {}};
  // Nobody reads: the frame cannot all go out.
  REQUIRE(write_text(link, std::string(1 << 20, 'x')));
  auto deadline = std::chrono::steady_clock::now() + 30s;
  auto result = tc::peer_link::flush_result::again;
  while (result == tc::peer_link::flush_result::again
         && std::chrono::steady_clock::now() < deadline) {
    result = link.flush();
    std::this_thread::yield();
  }
  CHECK(result == tc::peer_link::flush_result::broken);
  CHECK(link.closed());
  CHECK_FALSE(write_text(link, "after"));
  // The reading side sees the end of the connection once it has read what
  // was written before.
  std::vector<char> buf(1 << 16);
  ssize_t got = 0;
  while ((got = ::read(s.recv_end, buf.data(), buf.size())) > 0) {
  }
  CHECK(got == 0);
}

TEST_CASE("past the queue's limit, a thread that runs actors is refused at "
          "once and its frame not taken; any other thread waits for room") {
  socket_pair s{4096};
  flusher f;
  tc::peer_link link{s.send_end, 30s, [&f] { f.kick(); }};
  f.run(link);
  const std::string mib(1 << 20, 'm');
  std::vector<tc::link_write> outcomes;
  std::thread actor_thread{[&] {
    troupe::runtime::mark_actor_thread();
    for (int i = 0; i < 12; ++i) {
      outcomes.push_back(write_as(link, mib));
    }
  }};
  actor_thread.join();
  // About 8 MiB were taken (nobody reads), then the rest was refused.
  std::size_t sent = 0;
  for (auto o : outcomes) {
    CHECK(o != tc::link_write::closed);
    sent += o == tc::link_write::sent ? 1 : 0;
  }
  CHECK(sent >= 8);
  CHECK(sent <= 10);
  CHECK(outcomes.back() == tc::link_write::busy);
  CHECK_FALSE(link.closed());
  // A plain thread waits until the reader has made room.
  std::thread plain{[&] { CHECK(write_text(link, "after the wait")); }};
  std::vector<std::string> got;
  while (got.size() < sent + 1) {
    auto frame = read_frame(s.recv_end);
    REQUIRE(frame.has_value());
    got.push_back(std::move(*frame));
  }
  plain.join();
  f.stop();
  // What was taken arrives whole and in order; nothing refused does.
  for (std::size_t i = 0; i < sent; ++i) {
    CHECK(got[i] == mib);
  }
  CHECK(got[sent] == "after the wait");
}

TEST_CASE("a secured link's frames open in order at the other end, written "
          "directly or sealed together in batches") {
  for (auto level : {tc::protection::encrypt, tc::protection::authenticate}) {
    socket_pair s{16 * 1024};
    flusher f;
    tc::peer_link link{s.send_end, 10s, [&f] { f.kick(); }};
    const std::string key(32, 'q');
    link.secure(tc::record_sealer{level, key});
    f.run(link);
    std::mt19937_64 rng{5};
    tc::session_inbox in{1 << 20};
    in.secure(level, key);
    std::vector<std::string> sent;
    std::vector<std::string> got;
    std::vector<char> buf(1 << 16);
    // Rounds of 50 frames, each read whole before the next: the first frame
    // of a round finds the link idle and goes out as a record of its own,
    // the others are sealed together in batches.
    for (int round = 0; round < 6; ++round) {
      for (int i = 0; i < 50; ++i) {
        sent.push_back(
          std::string(rng() % 3 == 0 ? rng() % 100000 + 1 : rng() % 200 + 1,
                      static_cast<char>('a' + i % 26)));
        REQUIRE(write_text(link, sent.back()));
      }
      while (got.size() < sent.size()) {
        auto n = ::read(s.recv_end, buf.data(), buf.size());
        REQUIRE(n > 0);
        in.append(buf.data(), static_cast<std::size_t>(n));
        for (auto v = in.next(); v.data != nullptr; v = in.next()) {
          got.emplace_back(reinterpret_cast<const char*>(v.data), v.size);
        }
        REQUIRE_FALSE(in.broken());
      }
    }
    CHECK(got == sent);
    f.stop();
  }
}

TEST_CASE("links by node id: a replaced link is not removed by its "
          "predecessor, and a peer without a link is not connected") {
  socket_pair a;
  socket_pair b;
  tc::peer_links links;
  auto first = std::make_shared<tc::peer_link>(a.send_end, 1s, [] {});
  auto second = std::make_shared<tc::peer_link>(b.send_end, 1s, [] {});
  links.put("n1", first);
  links.put("n1", second);
  links.erase("n1", first);
  CHECK(links.find("n1") == second);
  std::string body = "routed";
  CHECK(links.send("n1", reinterpret_cast<const std::uint8_t*>(body.data()),
                   body.size())
        == tc::link_write::sent);
  while (second->flush() == tc::peer_link::flush_result::again) {
  }
  CHECK(read_frame(b.recv_end) == "routed");
  CHECK(links.send("n2", reinterpret_cast<const std::uint8_t*>(body.data()),
                   body.size())
        == tc::link_write::closed);
  links.erase("n1", second);
  CHECK(links.find("n1") == nullptr);
}

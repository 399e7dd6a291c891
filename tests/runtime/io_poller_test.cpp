// Tests of the sockets read by the scheduler's workers.
#include "troupe/runtime/io_poller.hpp"

#include "troupe/runtime/system_config.hpp"

#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

namespace rt = troupe::runtime;
using namespace std::chrono_literals;

namespace {

// Both ends of a socket pair, closed at the end of the test.
struct socket_pair {
  int fds[2] = {-1, -1};
  socket_pair() {
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
  }
  ~socket_pair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  void put(const std::string& text) const {
    REQUIRE(::write(fds[1], text.data(), text.size())
            == static_cast<ssize_t>(text.size()));
  }
};

// Reads what is there and hands it to `to` as a string, enqueued on the
// worker that ran it; then keeps watching or not.
class forwarder : public rt::io_source {
public:
  forwarder(int fd, caf::actor to, bool keep)
    : fd_(fd), to_(std::move(to)), keep_(keep) {}
  bool on_readable(caf::execution_unit* eu) override {
    ++runs;
    on_worker = eu != nullptr && &eu->system() == &to_->home_system();
    char buf[256];
    auto n = ::read(fd_, buf, sizeof(buf));
    if (n > 0) {
      to_->enqueue(caf::make_mailbox_element(
                     nullptr, caf::make_message_id(), {},
                     std::string(buf, static_cast<std::size_t>(n))),
                   eu);
    }
    return keep_;
  }
  std::atomic<int> runs{0};
  std::atomic<bool> on_worker{false};

private:
  int fd_;
  caf::actor to_;
  bool keep_;
};

std::string next_text(caf::scoped_actor& self) {
  std::string out = "(nothing)";
  self->receive([&](const std::string& text) { out = text; },
                caf::after(10s) >> [] {});
  return out;
}

rt::node_config with_policy(rt::scheduler_policy p) {
  rt::node_config cfg;
  cfg.policy = p;
  return cfg;
}

} // namespace

TEST_SUITE_BEGIN("runtime.io_poller");

TEST_CASE("the work-stealing policy runs a poller; work sharing does not") {
  rt::system_config stealing;
  stealing.apply(with_policy(rt::scheduler_policy::stealing));
  caf::actor_system a{stealing};
  CHECK(rt::poller_of(a) != nullptr);
  rt::system_config sharing;
  sharing.apply(with_policy(rt::scheduler_policy::sharing));
  caf::actor_system b{sharing};
  CHECK(rt::poller_of(b) == nullptr);
}

TEST_CASE("a ready socket is read on a worker, whose actor gets what it "
          "read; a source that stops is not run again, nor one unwatched") {
  rt::system_config cfg;
  cfg.apply(with_policy(rt::scheduler_policy::stealing));
  caf::actor_system sys{cfg};
  auto* io = rt::poller_of(sys);
  REQUIRE(io != nullptr);
  caf::scoped_actor self{sys};
  // An actor between the source and this thread: the source enqueues to it
  // on the worker that read.
  auto relay = sys.spawn([to = caf::actor{self}](caf::event_based_actor* me) {
    return caf::behavior{
      [me, to](const std::string& text) { me->send(to, text); },
    };
  });
  socket_pair kept;
  socket_pair once;
  socket_pair dropped;
  auto keeps = std::make_shared<forwarder>(kept.fds[0], relay, true);
  auto stops = std::make_shared<forwarder>(once.fds[0], relay, false);
  auto gone = std::make_shared<forwarder>(dropped.fds[0], relay, true);
  REQUIRE(io->watch(kept.fds[0], keeps) != 0);
  REQUIRE(io->watch(once.fds[0], stops) != 0);
  auto gone_key = io->watch(dropped.fds[0], gone);
  REQUIRE(gone_key != 0);
  CHECK(io->watching());
  kept.put("a");
  CHECK(next_text(self) == "a");
  CHECK(keeps->on_worker);
  kept.put("b");
  CHECK(next_text(self) == "b");
  once.put("c");
  CHECK(next_text(self) == "c");
  io->unwatch(gone_key);
  once.put("d");
  dropped.put("e");
  // The source still watched runs; the other two never do again.
  kept.put("f");
  CHECK(next_text(self) == "f");
  CHECK(keeps->runs == 3);
  CHECK(stops->runs == 1);
  CHECK(gone->runs == 0);
  caf::anon_send_exit(relay, caf::exit_reason::user_shutdown);
}

TEST_CASE("a job from outside the scheduler wakes the worker waiting in the "
          "poller at once") {
  rt::system_config cfg;
  cfg.apply(with_policy(rt::scheduler_policy::stealing));
  // One worker, which waits in the poller when idle; without a wake-up it
  // would notice the job only after this sleep.
  cfg.set("scheduler.max-threads", std::size_t{1});
  cfg.set("work-stealing.relaxed-sleep-duration", caf::timespan{60s});
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto echo = sys.spawn([](caf::event_based_actor*) {
    return caf::behavior{[](const std::string& text) { return text; }};
  });
  for (int i = 0; i < 5; ++i) {
    // Idle long enough for the worker to finish spinning and wait.
    self->receive(caf::after(50ms) >> [] {});
    auto started = std::chrono::steady_clock::now();
    self->send(echo, std::to_string(i));
    CHECK(next_text(self) == std::to_string(i));
    CHECK(std::chrono::steady_clock::now() - started < 5s);
  }
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST_SUITE_END();

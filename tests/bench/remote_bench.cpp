// Remote messaging between two node processes: one-way throughput and round
// trips over the cluster transport, beside raw CAF BASP in the same run, and
// the floor for round trips: a bare socket echo with one blocking thread on
// each side. BASP runs in an actor system of its own in each process, on
// CAF's own scheduler (with the same policy and the same idle setting as
// the nodes): what a CAF program without Troupe gets.
// The cluster transport runs under each session protection in turn
// (`cluster.transport_security`: encrypt, the default; authenticate; none),
// each against a far side of its own, with the ratios to `none`; and the
// time of a whole handshake as a peer that dials sees it.
// The program runs itself again with --serve as the far side.
// `remote_bench sharing` runs both with CAF's work-sharing scheduler.
#include "tests/bench/bench.hpp"
#include "troupe/apps/node.hpp"
#include "troupe/cluster/atoms.hpp"
#include "troupe/cluster/handshake.hpp"
#include "troupe/cluster/session.hpp"
#include "troupe/cluster/transport.hpp"
#include "troupe/testkit/node_process.hpp"
#include "troupe/testkit/raw_peer.hpp"
#include "troupe/testkit/read_exactly.hpp"
#include "troupe/testkit/wait.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <sodium.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tc = troupe::cluster;
namespace tk = troupe::testkit;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

using count_atom = caf::atom_constant<caf::atom("count")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;

constexpr std::uint64_t one_way = 200'000;
constexpr std::uint64_t round_trips = 2'000;
constexpr std::uint64_t actor_round_trips = 20'000;
const std::string body(64, 'x');

// Both processes use this scheduling policy (`remote_bench sharing` for
// work sharing).
auto policy = troupe::runtime::scheduler_policy::stealing;

using security = troupe::runtime::transport_security;

troupe::runtime::node_config config(const std::filesystem::path& dir,
                                    const std::string& name, security sec) {
  troupe::runtime::node_config cfg;
  cfg.cluster.security = sec;
  cfg.name = name;
  cfg.listen = {.host = "127.0.0.1", .port = 0};
  cfg.data_dir = dir / name;
  cfg.level = troupe::runtime::log_level::warn;
  cfg.policy = policy;
  return cfg;
}

// The configuration of the BASP actor systems: plain CAF.
void configure_basp(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  if (policy == troupe::runtime::scheduler_policy::sharing) {
    cfg.set("scheduler.policy", caf::atom("sharing"));
  } else {
    cfg.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  }
}

// A loopback socket with no Nagle delay: listening (port 0) or connected.
int loopback_socket(std::uint16_t connect_to = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(connect_to);
  auto* raw = reinterpret_cast<sockaddr*>(&addr);
  if (connect_to != 0
        ? ::connect(fd, raw, sizeof(addr)) != 0
        : ::bind(fd, raw, sizeof(addr)) != 0 || ::listen(fd, 1) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

std::uint16_t port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

// A frame's worth of bytes (length prefix and body).
constexpr std::size_t echo_bytes = 4 + 64;

// The far side: a cluster node whose handlers count and answer, a BASP
// actor that does the same, and a socket that echoes on a thread of its
// own. Prints its ports, runs until SIGTERM.
int serve(const std::filesystem::path& dir, security sec) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  auto n = troupe::node::start(config(dir, "server", sec),
                               {.console_log = false});
  if (!n) {
    return 1;
  }
  auto& sys = (*n)->system();
  auto ctx = (*n)->cluster().context();
  auto handler = sys.spawn([ctx](caf::event_based_actor*) {
    auto count = std::make_shared<std::uint64_t>(0);
    return caf::behavior{
      [ctx, count](tc::payload_atom, const std::string& from,
                   const tc::wire::payload& p) {
        auto reply = [&](std::string kind, std::string data) {
          tc::send_frame(*ctx, from,
                         tc::wire::frame{tc::wire::payload{
                           .kind = std::move(kind), .data = std::move(data)}});
        };
        if (p.kind == "bench.ping") {
          reply("bench.pong", p.data);
        } else if (p.data == "last") {
          reply("bench.done", std::to_string(*count));
          *count = 0;
        } else {
          ++*count;
        }
      },
    };
  });
  ctx->set_handler("bench.oneway", handler);
  ctx->set_handler("bench.ping", handler);
  caf::actor_system_config basp_cfg;
  configure_basp(basp_cfg);
  caf::actor_system basp_sys{basp_cfg};
  auto sink = basp_sys.spawn([](caf::event_based_actor*) {
    auto count = std::make_shared<std::uint64_t>(0);
    return caf::behavior{
      [count](const std::string&) { ++*count; },
      [](ping_atom, const std::string& data) { return data; },
      [count](count_atom) { return *count; },
    };
  });
  auto basp_port = basp_sys.middleman().publish(sink, 0, "127.0.0.1");
  if (!basp_port) {
    return 1;
  }
  int echo = loopback_socket();
  if (echo < 0) {
    return 1;
  }
  std::thread{[echo] {
    int conn = ::accept(echo, nullptr, nullptr);
    char buf[echo_bytes];
    while (tk::read_exactly(conn, buf, sizeof(buf))
           && ::write(conn, buf, sizeof(buf)) == sizeof(buf)) {
    }
    ::close(conn);
  }}.detach();
  std::printf("ports %u %u %u\n", (*n)->listen_port(), *basp_port,
              port_of(echo));
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  caf::anon_send_exit(handler, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  (*n)->stop("bench over");
  return 0;
}

void fail(const char* what) {
  std::fprintf(stderr, "remote_bench: %s\n", what);
  std::exit(1);
}

// Starts `pinger` with `kick`, waits until it reports its round trips
// done, and reports their rate.
template <class Kick>
double
time_pinger(caf::scoped_actor& self, const caf::actor& pinger, Kick kick) {
  auto start = clock_type::now();
  kick();
  self->receive([](ping_atom) {},
                caf::after(120s) >> [] { fail("the pinger did not finish"); });
  std::chrono::duration<double> took = clock_type::now() - start;
  caf::anon_send_exit(pinger, caf::exit_reason::user_shutdown);
  return static_cast<double>(actor_round_trips) / took.count();
}

// The cluster transport's figures of one run.
struct transport_figures {
  double oneway = 0;          // msg/s
  double roundtrip = 0;       // rt/s, from a blocking thread
  double actor_roundtrip = 0; // rt/s, between actors
};

transport_figures bench_transport(troupe::node& local,
                                  const std::string& server_id) {
  transport_figures out;
  auto& sys = local.system();
  auto client = local.cluster();
  caf::scoped_actor self{sys};
  client.handle_payloads("bench.done", self);
  client.handle_payloads("bench.pong", self);
  auto start = clock_type::now();
  for (std::uint64_t i = 0; i < one_way; ++i) {
    client.send_payload(server_id, "bench.oneway", body);
  }
  client.send_payload(server_id, "bench.oneway", "last");
  std::string counted;
  self->receive([&](tc::payload_atom, const std::string&,
                    const tc::wire::payload& p) { counted = p.data; },
                caf::after(120s) >> [] { fail("no count from the server"); });
  std::chrono::duration<double> took = clock_type::now() - start;
  if (counted != std::to_string(one_way)) {
    fail("the server counted a different number of messages");
  }
  out.oneway = static_cast<double>(one_way) / took.count();
  start = clock_type::now();
  for (std::uint64_t i = 0; i < round_trips; ++i) {
    client.send_payload(server_id, "bench.ping", body);
    self->receive([](tc::payload_atom, const std::string&,
                     const tc::wire::payload&) {},
                  caf::after(10s) >> [] { fail("no pong"); });
  }
  took = clock_type::now() - start;
  out.roundtrip = static_cast<double>(round_trips) / took.count();
  // The same between two actors, as one process calling another does: the
  // next ping leaves from the handler of the last pong.
  auto ctx = client.context();
  auto pinger = sys.spawn(
    [ctx, server_id, caller = caf::actor{self}](caf::event_based_actor*) {
      auto left = std::make_shared<std::uint64_t>(actor_round_trips);
      return caf::behavior{
        [ctx, server_id, caller, left](tc::payload_atom, const std::string&,
                                       const tc::wire::payload& p) {
          if (--*left == 0) {
            caf::anon_send(caller, ping_atom::value);
            return;
          }
          tc::send_frame(*ctx, server_id,
                         tc::wire::frame{tc::wire::payload{.kind = "bench.ping",
                                                           .data = p.data}});
        },
      };
    });
  client.handle_payloads("bench.pong", pinger);
  out.actor_roundtrip = time_pinger(self, pinger, [&] {
    client.send_payload(server_id, "bench.ping", body);
  });
  return out;
}

void bench_basp(std::uint16_t port) {
  caf::actor_system_config cfg;
  configure_basp(cfg);
  caf::actor_system sys{cfg};
  auto sink = sys.middleman().remote_actor("127.0.0.1", port);
  if (!sink) {
    fail("cannot reach the BASP actor");
  }
  caf::scoped_actor self{sys};
  auto start = clock_type::now();
  for (std::uint64_t i = 0; i < one_way; ++i) {
    self->send(*sink, body);
  }
  std::uint64_t counted = 0;
  self->request(*sink, 120s, count_atom::value)
    .receive([&](std::uint64_t n) { counted = n; },
             [](caf::error&) { fail("no count from the BASP actor"); });
  std::chrono::duration<double> took = clock_type::now() - start;
  if (counted != one_way) {
    fail("the BASP actor counted a different number of messages");
  }
  troupe::bench::report("remote.basp_oneway",
                        static_cast<double>(one_way) / took.count(), "msg/s");
  start = clock_type::now();
  for (std::uint64_t i = 0; i < round_trips; ++i) {
    self->request(*sink, 10s, ping_atom::value, body)
      .receive([](const std::string&) {},
               [](caf::error&) { fail("no BASP pong"); });
  }
  took = clock_type::now() - start;
  troupe::bench::report("remote.basp_roundtrip",
                        static_cast<double>(round_trips) / took.count(),
                        "rt/s");
  // The sink's answer to a plain send comes back as an ordinary message,
  // which sends the next ping.
  auto pinger = sys.spawn([sink = *sink](caf::event_based_actor* me) {
    auto left = std::make_shared<std::uint64_t>(actor_round_trips);
    auto caller = std::make_shared<caf::actor>();
    return caf::behavior{
      [me, sink, caller](ping_atom) {
        *caller = caf::actor_cast<caf::actor>(me->current_sender());
        me->send(sink, ping_atom::value, body);
      },
      [me, sink, left, caller](const std::string&) {
        if (--*left == 0) {
          me->send(*caller, ping_atom::value);
          return;
        }
        me->send(sink, ping_atom::value, body);
      },
    };
  });
  troupe::bench::report(
    "remote.basp_actor_roundtrip",
    time_pinger(self, pinger, [&] { self->send(pinger, ping_atom::value); }),
    "rt/s");
}

// Round trips of one frame's worth of bytes through the echo, blocking
// reads and writes: what the machine allows between two processes.
void bench_socket(std::uint16_t port) {
  int fd = loopback_socket(port);
  if (fd < 0) {
    fail("cannot reach the echo");
  }
  char buf[echo_bytes] = {};
  auto start = clock_type::now();
  for (std::uint64_t i = 0; i < actor_round_trips; ++i) {
    if (::write(fd, buf, sizeof(buf)) != sizeof(buf)
        || !tk::read_exactly(fd, buf, sizeof(buf))) {
      fail("the echo broke off");
    }
  }
  std::chrono::duration<double> took = clock_type::now() - start;
  troupe::bench::report("remote.socket_roundtrip",
                        static_cast<double>(actor_round_trips) / took.count(),
                        "rt/s");
  ::close(fd);
}

// A whole handshake as a peer that dials sees it: connect, both hellos,
// both proofs and the session's keys. The mean of `n`, in microseconds.
double bench_handshake(std::uint16_t port, const tc::context& ctx, int n) {
  const std::string me = "0123456789abcdef0123456789abcdef";
  auto offer
    = std::string{tc::to_string(tc::policy_of(ctx.settings.security).offer)};
  auto start = clock_type::now();
  for (int i = 0; i < n; ++i) {
    int fd = loopback_socket(port);
    if (fd < 0) {
      fail("cannot reach the far side's cluster port");
    }
    std::string challenge(tc::wire::challenge_bytes, '\0');
    randombytes_buf(challenge.data(), challenge.size());
    auto t = tk::dial_handshake(fd, ctx, me, challenge, offer);
    if (!t) {
      fail("the far side did not prove itself");
    }
    static_cast<void>(tc::session_keys_of(ctx.key, *t));
    ::close(fd);
  }
  std::chrono::duration<double, std::micro> took = clock_type::now() - start;
  return took.count() / n;
}

// What protecting one small frame costs the two ends, apart from any
// network: sealing it into a record and opening it, in nanoseconds.
double bench_seal_open(tc::protection level) {
  constexpr int n = 200'000;
  const std::string key(32, 'k');
  tc::record_sealer sealer{level, key};
  tc::session_inbox inbox{1 << 20};
  inbox.secure(level, key);
  std::vector<std::uint8_t> frame(4 + body.size() + 30, 'x');
  frame[0] = frame[1] = 0;
  frame[2] = static_cast<std::uint8_t>((frame.size() - 4) >> 8);
  frame[3] = static_cast<std::uint8_t>(frame.size() - 4);
  std::vector<std::uint8_t> record;
  std::size_t opened = 0;
  auto start = clock_type::now();
  for (int i = 0; i < n; ++i) {
    record.clear();
    if (!sealer.seal(frame.data(), frame.size(), record)) {
      fail("the sealer gave up");
    }
    inbox.append(reinterpret_cast<const char*>(record.data()), record.size());
    for (auto v = inbox.next(); v.data != nullptr; v = inbox.next()) {
      opened += v.size;
    }
  }
  std::chrono::duration<double, std::nano> took = clock_type::now() - start;
  if (inbox.broken() || opened != n * (frame.size() - 4)) {
    fail("a record did not open");
  }
  return took.count() / n;
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

// What one far side serves on.
struct far_side {
  std::unique_ptr<tk::node_process> process;
  unsigned cluster_port = 0;
  unsigned basp_port = 0;
  unsigned echo_port = 0;
};

far_side start_far_side(const std::filesystem::path& dir, const char* mode,
                        bool sharing) {
  far_side out;
  out.process = std::make_unique<tk::node_process>(tk::node_process::options{
    .binary = std::filesystem::canonical("/proc/self/exe"),
    .args = {"--serve", dir.string(), mode, sharing ? "sharing" : ""},
    .env = {},
    .work_dir = dir});
  if (!tk::wait_until(
        [&] {
          return std::sscanf(out.process->stdout_text().c_str(),
                             "ports %u %u %u", &out.cluster_port,
                             &out.basp_port, &out.echo_port)
                 == 3;
        },
        60s)) {
    fail("the server did not start");
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  bool sharing = std::strcmp(argv[argc - 1], "sharing") == 0;
  if (sharing) {
    policy = troupe::runtime::scheduler_policy::sharing;
  }
  const std::vector<std::pair<security, const char*>> modes{
    {security::none, "none"},
    {security::encrypt, "encrypt"},
    {security::authenticate, "authenticate"},
  };
  if (argc >= 4 && std::strcmp(argv[1], "--serve") == 0) {
    for (const auto& [sec, name] : modes) {
      if (std::strcmp(argv[3], name) == 0) {
        return serve(argv[2], sec);
      }
    }
    return 1;
  }
  tk::temp_dir dir;
  // Rounds of every protection in turn, each against a far side of its
  // own, so that a change in the machine's load touches all alike; the
  // medians of the rounds.
  constexpr int rounds = 3;
  std::map<std::string, std::vector<transport_figures>> runs;
  std::map<std::string, std::vector<double>> handshakes;
  for (int round = 0; round < rounds; ++round) {
    for (const auto& [sec, name] : modes) {
      auto here = dir.path() / fmt::format("{}-{}", name, round);
      std::filesystem::create_directories(here);
      auto far = start_far_side(here, name, sharing);
      auto cfg = config(here, "client", sec);
      cfg.join = {{.host = "127.0.0.1",
                   .port = static_cast<std::uint16_t>(far.cluster_port)}};
      auto local = troupe::node::start(cfg, {.console_log = false});
      if (!local) {
        fail("cannot start the local node");
      }
      std::string server_id;
      tk::wait_until(
        [&] {
          auto m = (*local)->cluster().members();
          if (!m) {
            return false;
          }
          for (const auto& v : *m) {
            if (!v.self && v.info.status == tc::member_status::up) {
              server_id = v.info.node_id;
            }
          }
          return !server_id.empty();
        },
        60s);
      if (server_id.empty()) {
        fail("the two nodes did not form a cluster");
      }
      static_cast<void>(bench_transport(**local, server_id)); // warm-up
      runs[name].push_back(bench_transport(**local, server_id));
      handshakes[name].push_back(
        bench_handshake(static_cast<std::uint16_t>(far.cluster_port),
                        *(*local)->cluster().context(), 200));
      if (sec == security::encrypt && round == rounds - 1) {
        bench_basp(static_cast<std::uint16_t>(far.basp_port));
        bench_socket(static_cast<std::uint16_t>(far.echo_port));
      }
      (*local)->stop("bench over");
      far.process->signal(SIGTERM);
      far.process->wait_exit(30s);
    }
  }
  std::map<std::string, transport_figures> figures;
  for (const auto& [sec, name] : modes) {
    std::vector<double> oneway, roundtrip, actor;
    for (const auto& f : runs[name]) {
      oneway.push_back(f.oneway);
      roundtrip.push_back(f.roundtrip);
      actor.push_back(f.actor_roundtrip);
    }
    auto& f = figures[name];
    f = {.oneway = median(oneway),
         .roundtrip = median(roundtrip),
         .actor_roundtrip = median(actor)};
    // The default keeps the plain names; the others say their protection.
    std::string infix = sec == security::encrypt ? "" : std::string{name} + "_";
    troupe::bench::report("remote.transport_" + infix + "oneway", f.oneway,
                          "msg/s");
    troupe::bench::report("remote.transport_" + infix + "roundtrip",
                          f.roundtrip, "rt/s");
    troupe::bench::report("remote.transport_" + infix + "actor_roundtrip",
                          f.actor_roundtrip, "rt/s");
    troupe::bench::report(std::string{"remote.handshake_"} + name,
                          median(handshakes[name]), "us");
  }
  troupe::bench::report("remote.seal_open_encrypt",
                        bench_seal_open(tc::protection::encrypt), "ns");
  troupe::bench::report("remote.seal_open_authenticate",
                        bench_seal_open(tc::protection::authenticate), "ns");
  const auto& none = figures["none"];
  for (const char* name : {"encrypt", "authenticate"}) {
    const auto& f = figures[name];
    auto prefix = std::string{"remote."} + name + "_vs_none_";
    troupe::bench::report(prefix + "oneway", f.oneway / none.oneway, "x");
    troupe::bench::report(prefix + "roundtrip", f.roundtrip / none.roundtrip,
                          "x");
    troupe::bench::report(prefix + "actor_roundtrip",
                          f.actor_roundtrip / none.actor_roundtrip, "x");
  }
}

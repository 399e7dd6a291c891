// Tests of cutting received bytes into frames.
#include "troupe/cluster/frame_inbox.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace tc = troupe::cluster;

namespace {

std::string framed(const std::string& body) {
  auto n = static_cast<std::uint32_t>(body.size());
  std::string out;
  for (int i = 0; i < 4; ++i) {
    out += static_cast<char>((n >> (24 - 8 * i)) & 0xff);
  }
  return out + body;
}

std::string text(const tc::frame_inbox::view& v) {
  return {reinterpret_cast<const char*>(v.data), v.size};
}

} // namespace

TEST_SUITE_BEGIN("cluster.frame_inbox");

TEST_CASE("frames come out whole and in order, however the bytes arrive") {
  std::mt19937 rng{11};
  std::vector<std::string> bodies;
  std::string stream;
  for (int i = 0; i < 500; ++i) {
    std::string body(1 + rng() % (i % 50 == 0 ? 200000 : 300), 'a');
    for (auto& ch : body) {
      ch = static_cast<char>('a' + rng() % 26);
    }
    bodies.push_back(body);
    stream += framed(body);
  }
  tc::frame_inbox inbox{1 << 20};
  std::size_t next = 0;
  std::size_t at = 0;
  while (at < stream.size()) {
    // Pieces of 1 byte to 64 KiB, half copied in, half read in place.
    auto n = std::min<std::size_t>(stream.size() - at, 1 + rng() % 65536);
    if (rng() % 2 == 0) {
      inbox.append(stream.data() + at, n);
    } else {
      std::memcpy(inbox.prepare(n), stream.data() + at, n);
      inbox.commit(n);
    }
    at += n;
    for (auto v = inbox.next(); v.data != nullptr; v = inbox.next()) {
      REQUIRE(next < bodies.size());
      CHECK(text(v) == bodies[next]);
      ++next;
    }
  }
  CHECK(next == bodies.size());
  CHECK(inbox.pending() == 0);
  CHECK_FALSE(inbox.broken());
}

TEST_CASE("a length of zero or over the limit breaks the inbox for good") {
  for (std::uint32_t bad : {0u, 101u, 0xffffffffu}) {
    tc::frame_inbox inbox{100};
    auto bytes = framed("ok");
    bytes += static_cast<char>(bad >> 24);
    bytes += static_cast<char>((bad >> 16) & 0xff);
    bytes += static_cast<char>((bad >> 8) & 0xff);
    bytes += static_cast<char>(bad & 0xff);
    bytes += framed("after");
    inbox.append(bytes.data(), bytes.size());
    CHECK(text(inbox.next()) == "ok");
    CHECK(inbox.next().data == nullptr);
    CHECK(inbox.broken());
    CHECK(inbox.bad_length() == bad);
    CHECK(inbox.next().data == nullptr);
  }
}

TEST_CASE("a frame at the limit passes; what is left can be taken out") {
  tc::frame_inbox inbox{100};
  auto bytes = framed(std::string(100, 'x')) + framed("partial");
  bytes.resize(bytes.size() - 3);
  inbox.append(bytes.data(), bytes.size());
  CHECK(inbox.next().size == 100);
  CHECK(inbox.next().data == nullptr);
  CHECK_FALSE(inbox.broken());
  auto rest = inbox.take_pending();
  CHECK(std::string(rest.begin(), rest.end())
        == framed("partial").substr(0, 8));
  CHECK(inbox.pending() == 0);
}

TEST_SUITE_END();

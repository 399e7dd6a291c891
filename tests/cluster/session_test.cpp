// A session's protection: what two peers agree on, and the records that
// carry frames under it.
#include "troupe/cluster/session.hpp"

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace tc = troupe::cluster;
using ts = troupe::runtime::transport_security;

namespace {

const std::string key_a(32, 'a');
const std::string key_b(32, 'b');

// A frame as it goes into a session: length, then body.
std::vector<std::uint8_t> frame_of(const std::string& body) {
  auto n = static_cast<std::uint32_t>(body.size());
  std::vector<std::uint8_t> out{static_cast<std::uint8_t>(n >> 24),
                                static_cast<std::uint8_t>(n >> 16),
                                static_cast<std::uint8_t>(n >> 8),
                                static_cast<std::uint8_t>(n)};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

std::vector<std::uint8_t> sealed(tc::record_sealer& s,
                                 const std::vector<std::uint8_t>& plain) {
  std::vector<std::uint8_t> out;
  REQUIRE(s.seal(plain.data(), plain.size(), out));
  return out;
}

// Every frame the inbox hands out.
std::vector<std::string> frames_of(tc::session_inbox& in) {
  std::vector<std::string> out;
  for (auto v = in.next(); v.data != nullptr; v = in.next()) {
    out.emplace_back(reinterpret_cast<const char*>(v.data), v.size);
  }
  return out;
}

void feed(tc::session_inbox& in, const std::vector<std::uint8_t>& bytes) {
  in.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

} // namespace

TEST_SUITE_BEGIN("cluster.session");

TEST_CASE("two nodes agree on the weaker offer, or one of them refuses") {
  const std::vector<ts> settings{ts::encrypt, ts::authenticate, ts::upgrade,
                                 ts::none};
  // What a connection between two nodes under these settings gets
  // (nullopt: refused).
  auto expected = [](ts a, ts b) -> std::optional<tc::protection> {
    auto key = [](ts x, ts y) { return std::pair{x, y}; };
    std::map<std::pair<ts, ts>, std::optional<tc::protection>> table{
      {key(ts::encrypt, ts::encrypt), tc::protection::encrypt},
      {key(ts::encrypt, ts::authenticate), std::nullopt},
      {key(ts::encrypt, ts::upgrade), tc::protection::encrypt},
      {key(ts::encrypt, ts::none), std::nullopt},
      {key(ts::authenticate, ts::authenticate), tc::protection::authenticate},
      {key(ts::authenticate, ts::upgrade), tc::protection::authenticate},
      {key(ts::authenticate, ts::none), std::nullopt},
      {key(ts::upgrade, ts::upgrade), tc::protection::encrypt},
      {key(ts::upgrade, ts::none), tc::protection::none},
      {key(ts::none, ts::none), tc::protection::none},
    };
    if (auto i = table.find(key(a, b)); i != table.end()) {
      return i->second;
    }
    return table.at(key(b, a));
  };
  for (auto a : settings) {
    for (auto b : settings) {
      CAPTURE(troupe::runtime::to_string(a));
      CAPTURE(troupe::runtime::to_string(b));
      auto pa = tc::policy_of(a);
      auto pb = tc::policy_of(b);
      auto at_a = tc::agree(pa, std::string{tc::to_string(pb.offer)});
      auto at_b = tc::agree(pb, std::string{tc::to_string(pa.offer)});
      auto want = expected(a, b);
      if (want) {
        // Both ends come to the same protection.
        REQUIRE(at_a.agreed);
        REQUIRE(at_b.agreed);
        CHECK(*at_a.agreed == *want);
        CHECK(*at_b.agreed == *want);
      } else {
        // At least one end refuses, and says why.
        CHECK((!at_a.agreed || !at_b.agreed));
        for (const auto* x : {&at_a, &at_b}) {
          if (!x->agreed) {
            CHECK(x->refusal.find("cluster.transport_security")
                  != std::string::npos);
          }
        }
      }
    }
  }
}

TEST_CASE("a build that offers nothing is admitted only by upgrade and none; "
          "an unknown offer is refused by name") {
  for (auto s : {ts::encrypt, ts::authenticate}) {
    auto a = tc::agree(tc::policy_of(s), "");
    CHECK_FALSE(a.agreed);
    CHECK(a.refusal.find("a build without session security")
          != std::string::npos);
  }
  for (auto s : {ts::upgrade, ts::none}) {
    auto a = tc::agree(tc::policy_of(s), "");
    REQUIRE(a.agreed);
    CHECK(*a.agreed == tc::protection::none);
  }
  for (auto s : {ts::encrypt, ts::authenticate, ts::upgrade, ts::none}) {
    auto a = tc::agree(tc::policy_of(s), "rot13");
    CHECK_FALSE(a.agreed);
    CHECK(a.refusal.find("\"rot13\"") != std::string::npos);
  }
}

TEST_CASE("records carry any stream of frames whole, in pieces of any size") {
  std::mt19937_64 rng{11};
  for (auto level : {tc::protection::encrypt, tc::protection::authenticate}) {
    CAPTURE(tc::to_string(level));
    for (int round = 0; round < 20; ++round) {
      tc::record_sealer out{level, key_a};
      tc::session_inbox in{1 << 20};
      in.secure(level, key_a);
      std::vector<std::string> sent;
      std::vector<std::uint8_t> wire;
      for (int i = 0; i < 12; ++i) {
        // Mostly small frames, some over a record's size.
        auto size = rng() % 4 == 0 ? rng() % 200000 + 1 : rng() % 300 + 1;
        std::string body(size, '\0');
        for (auto& c : body) {
          c = static_cast<char>(rng());
        }
        sent.push_back(body);
        // One frame per seal, or several together, as the link does.
        auto plain = frame_of(body);
        if (rng() % 2 == 0 && i + 1 < 12) {
          std::string second(rng() % 100 + 1, 'x');
          sent.push_back(second);
          auto more = frame_of(second);
          plain.insert(plain.end(), more.begin(), more.end());
          ++i;
        }
        auto rec = sealed(out, plain);
        wire.insert(wire.end(), rec.begin(), rec.end());
      }
      std::vector<std::string> got;
      for (std::size_t at = 0; at < wire.size();) {
        auto n = std::min<std::size_t>(wire.size() - at, rng() % 70000 + 1);
        auto* room = in.prepare(n);
        std::copy(wire.begin() + static_cast<std::ptrdiff_t>(at),
                  wire.begin() + static_cast<std::ptrdiff_t>(at + n), room);
        in.commit(n);
        at += n;
        for (auto& f : frames_of(in)) {
          got.push_back(std::move(f));
        }
      }
      CHECK_FALSE(in.broken());
      CHECK(got == sent);
    }
  }
}

TEST_CASE("encrypt hides what a frame says; authenticate shows it") {
  auto plain = frame_of("the secret balance is 42");
  const std::string needle = "secret balance";
  for (auto level : {tc::protection::encrypt, tc::protection::authenticate}) {
    tc::record_sealer s{level, key_a};
    auto rec = sealed(s, plain);
    std::string bytes(rec.begin(), rec.end());
    CHECK((bytes.find(needle) != std::string::npos)
          == (level == tc::protection::authenticate));
    CHECK(rec.size() == 4 + plain.size() + tc::record_tag_bytes);
  }
}

TEST_CASE("a record changed, replayed, reordered, dropped or sealed under "
          "another key is refused, and the inbox stays refused") {
  for (auto level : {tc::protection::encrypt, tc::protection::authenticate}) {
    CAPTURE(tc::to_string(level));
    auto records = [&](const std::string& key) {
      tc::record_sealer s{level, key};
      std::vector<std::vector<std::uint8_t>> out;
      for (const char* text : {"one", "two", "three"}) {
        out.push_back(sealed(s, frame_of(text)));
      }
      return out;
    };
    auto r = records(key_a);
    auto refused = [&](const std::vector<std::vector<std::uint8_t>>& order,
                       std::size_t good) {
      tc::session_inbox in{1 << 20};
      in.secure(level, key_a);
      std::size_t got = 0;
      for (const auto& rec : order) {
        feed(in, rec);
        got += frames_of(in).size();
      }
      CHECK(got == good);
      CHECK(in.broken());
      CHECK(in.error().find("record") != std::string::npos);
      // Nothing more comes out, not even a good record.
      feed(in, r[0]);
      CHECK(frames_of(in).empty());
    };
    refused({r[0], r[0]}, 1);        // replayed
    refused({r[1], r[0]}, 0);        // reordered
    refused({r[0], r[2]}, 1);        // one dropped
    refused({records(key_b)[0]}, 0); // another session's key
    // Every byte of a record changed in turn (its length too: then it is
    // cut elsewhere or over the limit).
    for (std::size_t i = 0; i < r[1].size(); ++i) {
      auto bad = r[1];
      bad[i] ^= 0x01;
      CAPTURE(i);
      tc::session_inbox in{1 << 20};
      in.secure(level, key_a);
      feed(in, r[0]);
      feed(in, bad);
      feed(in, r[2]);
      auto got = frames_of(in);
      CHECK(got == std::vector<std::string>{"one"});
      // A length made shorter breaks the record at once; one made longer
      // waits for bytes that will not come (the connection's end or the
      // handshake-like deadlines of the carrier then close it).
      if (i >= 3) {
        CHECK(in.broken());
      }
    }
  }
}

TEST_CASE("a record of length zero or over the limit is refused") {
  for (std::uint32_t n :
       {0u, std::uint32_t(tc::max_record_plain + tc::record_tag_bytes + 1)}) {
    tc::session_inbox in{1 << 20};
    in.secure(tc::protection::encrypt, key_a);
    std::vector<std::uint8_t> bytes{static_cast<std::uint8_t>(n >> 24),
                                    static_cast<std::uint8_t>(n >> 16),
                                    static_cast<std::uint8_t>(n >> 8),
                                    static_cast<std::uint8_t>(n),
                                    0,
                                    0};
    feed(in, bytes);
    CHECK(frames_of(in).empty());
    CHECK(in.broken());
    CHECK(in.error().find("limit") != std::string::npos);
  }
  // Shorter than its tag.
  tc::session_inbox in{1 << 20};
  in.secure(tc::protection::encrypt, key_a);
  feed(in, {0, 0, 0, 3, 1, 2, 3});
  CHECK(in.broken());
  CHECK(in.error().find("shorter than its tag") != std::string::npos);
}

TEST_CASE("the handshake's frames in the clear, then records: bytes that "
          "came with the last handshake frame are opened once secured") {
  tc::record_sealer s{tc::protection::encrypt, key_a};
  auto wire = frame_of("hello in the clear");
  auto rec = sealed(s, frame_of("first protected"));
  wire.insert(wire.end(), rec.begin(), rec.end());
  tc::session_inbox in{4096};
  feed(in, wire);
  auto v = in.next();
  REQUIRE(v.data != nullptr);
  CHECK(std::string(reinterpret_cast<const char*>(v.data), v.size)
        == "hello in the clear");
  in.secure(tc::protection::encrypt, key_a);
  CHECK(frames_of(in) == std::vector<std::string>{"first protected"});
  // Without protection nothing changes.
  tc::session_inbox plain{4096};
  plain.secure(tc::protection::none, {});
  feed(plain, frame_of("as it is"));
  CHECK(frames_of(plain) == std::vector<std::string>{"as it is"});
}

TEST_SUITE_END();

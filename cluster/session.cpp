// What protects a connection's frames after its handshake.
#include "session.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <limits>

namespace troupe::cluster {

namespace {

using aead_nonce
  = std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;

// A record's nonce: its number in its direction, little-endian.
aead_nonce nonce_of(std::uint64_t n) {
  aead_nonce out{};
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<unsigned char>(n >> (8 * i));
  }
  return out;
}

const unsigned char* bytes_of(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::optional<protection> parse(const std::string& text) {
  for (auto p :
       {protection::none, protection::authenticate, protection::encrypt}) {
    if (text == to_string(p)) {
      return p;
    }
  }
  return std::nullopt;
}

} // namespace

std::string_view to_string(protection p) {
  switch (p) {
    case protection::none:
      return "none";
    case protection::authenticate:
      return "authenticate";
    case protection::encrypt:
      return "encrypt";
  }
  return "?";
}

security_policy policy_of(runtime::transport_security s) {
  using ts = runtime::transport_security;
  switch (s) {
    case ts::encrypt:
      return {.offer = protection::encrypt, .least = protection::encrypt};
    case ts::authenticate:
      return {.offer = protection::authenticate,
              .least = protection::authenticate};
    case ts::upgrade:
      return {.offer = protection::encrypt, .least = protection::none};
    case ts::none:
      return {.offer = protection::none, .least = protection::none};
  }
  return {};
}

agreement agree(const security_policy& mine, const std::string& theirs) {
  auto offered = theirs.empty() ? std::optional{protection::none}
                                : parse(theirs);
  if (!offered) {
    return {.refusal = fmt::format(
              "it offers session protection \"{}\", which this build does "
              "not know (none, authenticate or encrypt)",
              theirs)};
  }
  auto agreed = std::min(*offered, mine.offer);
  if (agreed < mine.least) {
    return {.refusal = fmt::format(
              "it offers session protection {}{} and this node requires {} "
              "(cluster.transport_security; `upgrade` admits peers without it "
              "during a rolling upgrade)",
              to_string(*offered),
              theirs.empty() ? " (a build without session security)" : "",
              to_string(mine.least))};
  }
  return {.agreed = agreed};
}

record_sealer::record_sealer(protection level, std::string key)
  : level_(level), key_(std::move(key)) {}

bool record_sealer::seal(const std::uint8_t* data, std::size_t n,
                         std::vector<std::uint8_t>& out) {
  for (std::size_t at = 0; at < n;) {
    if (next_ == std::numeric_limits<std::uint64_t>::max()) {
      return false;
    }
    auto plain = std::min(n - at, max_record_plain);
    auto len = static_cast<std::uint32_t>(plain + record_tag_bytes);
    auto start = out.size();
    out.resize(start + 4 + len);
    auto* rec = out.data() + start;
    rec[0] = static_cast<std::uint8_t>(len >> 24);
    rec[1] = static_cast<std::uint8_t>(len >> 16);
    rec[2] = static_cast<std::uint8_t>(len >> 8);
    rec[3] = static_cast<std::uint8_t>(len);
    auto nonce = nonce_of(next_++);
    if (level_ == protection::encrypt) {
      crypto_aead_chacha20poly1305_ietf_encrypt(rec + 4, nullptr, data + at,
                                                plain, nullptr, 0, nullptr,
                                                nonce.data(), bytes_of(key_));
    } else {
      // The bytes as they are, and a tag over them as associated data
      // (nothing is encrypted: `nothing` stands for the empty message).
      std::copy(data + at, data + at + plain, rec + 4);
      unsigned char nothing[1] = {0};
      crypto_aead_chacha20poly1305_ietf_encrypt_detached(
        nothing, rec + 4 + plain, nullptr, nothing, 0, rec + 4, plain, nullptr,
        nonce.data(), bytes_of(key_));
    }
    at += plain;
  }
  return true;
}

record_opener::record_opener(protection level, std::string key)
  : level_(level), key_(std::move(key)),
    records_(max_record_plain + record_tag_bytes) {}

bool record_opener::open_into(frame_inbox& frames) {
  if (!error_.empty()) {
    return false;
  }
  for (auto r = records_.next(); r.data != nullptr; r = records_.next()) {
    if (r.size < record_tag_bytes) {
      error_ = fmt::format("record {} of {} bytes, shorter than its tag", next_,
                           r.size);
      return false;
    }
    auto plain = r.size - record_tag_bytes;
    auto nonce = nonce_of(next_);
    int rc = 0;
    if (level_ == protection::encrypt) {
      auto* into = reinterpret_cast<unsigned char*>(frames.prepare(plain));
      rc = crypto_aead_chacha20poly1305_ietf_decrypt(into, nullptr, nullptr,
                                                     r.data, r.size, nullptr, 0,
                                                     nonce.data(),
                                                     bytes_of(key_));
      if (rc == 0) {
        frames.commit(plain);
      }
    } else {
      unsigned char nothing[1] = {0};
      rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
        nothing, nullptr, nothing, 0, r.data + plain, r.data, plain,
        nonce.data(), bytes_of(key_));
      if (rc == 0) {
        frames.append(reinterpret_cast<const char*>(r.data), plain);
      }
    }
    if (rc != 0) {
      error_ = fmt::format("record {} failed its tag (forged, replayed, "
                           "reordered or damaged)",
                           next_);
      return false;
    }
    ++next_;
  }
  if (records_.broken()) {
    error_ = fmt::format("record of {} bytes (limit {})", records_.bad_length(),
                         records_.limit());
    return false;
  }
  return true;
}

char* session_inbox::prepare(std::size_t n) {
  return opener_ ? opener_->prepare(n) : frames_.prepare(n);
}

void session_inbox::commit(std::size_t n) {
  if (opener_) {
    opener_->commit(n);
    open();
  } else {
    frames_.commit(n);
  }
}

void session_inbox::append(const char* data, std::size_t n) {
  if (opener_) {
    opener_->append(data, n);
    open();
  } else {
    frames_.append(data, n);
  }
}

void session_inbox::secure(protection level, std::string key) {
  if (level == protection::none || opener_) {
    return;
  }
  opener_ = std::make_unique<record_opener>(level, std::move(key));
  auto rest = frames_.take_pending();
  append(rest.data(), rest.size());
}

void session_inbox::open() {
  static_cast<void>(opener_->open_into(frames_));
}

std::string session_inbox::error() const {
  if (opener_ && !opener_->error().empty()) {
    return opener_->error();
  }
  if (frames_.broken()) {
    return fmt::format("frame of {} bytes (limit {})", frames_.bad_length(),
                       frames_.limit());
  }
  return {};
}

} // namespace troupe::cluster

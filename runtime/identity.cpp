// Node identity: a persistent node id and a per-boot incarnation number.
#include "identity.hpp"

#include "atomic_file.hpp"
#include "errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace troupe::runtime {

namespace {

constexpr std::string_view format_line = "format=1";

std::string new_node_id(std::mt19937_64& rng) {
  return fmt::format("{:016x}{:016x}", rng(), rng());
}

bool valid_node_id(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Parses the identity file; nullopt if anything about it is off.
std::optional<node_identity> parse_identity(const std::string& text) {
  std::istringstream in{text};
  std::string line;
  bool format_seen = false;
  std::optional<std::string> id;
  std::optional<std::uint64_t> incarnation;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line == format_line) {
      format_seen = true;
    } else if (line.rfind("node_id=", 0) == 0) {
      id = line.substr(8);
    } else if (line.rfind("incarnation=", 0) == 0) {
      std::uint64_t n = 0;
      auto value = std::string_view{line}.substr(12);
      auto [ptr, ec] = std::from_chars(value.data(),
                                       value.data() + value.size(), n);
      if (ec != std::errc{} || ptr != value.data() + value.size()) {
        return std::nullopt;
      }
      incarnation = n;
    } else {
      return std::nullopt;
    }
  }
  if (!format_seen || !id || !valid_node_id(*id) || !incarnation) {
    return std::nullopt;
  }
  node_identity ident;
  ident.node_id = *id;
  ident.incarnation = *incarnation;
  return ident;
}

std::string render_identity(const node_identity& ident) {
  return fmt::format("# Troupe node identity, written by the node.\n"
                     "{}\nnode_id={}\nincarnation={}\n",
                     format_line, ident.node_id, ident.incarnation);
}

} // namespace

caf::expected<node_identity>
boot_identity(const std::filesystem::path& data_dir, std::mt19937_64& rng) {
  auto path = data_dir / identity_file_name;
  node_identity ident;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto text = read_file(path);
    if (!text) {
      return std::move(text.error());
    }
    if (auto parsed = parse_identity(*text)) {
      ident = *parsed;
    } else {
      auto moved = set_aside(path);
      if (!moved) {
        return std::move(moved.error());
      }
      ident.set_aside_file = *moved;
    }
  }
  if (ident.node_id.empty()) {
    ident.node_id = new_node_id(rng);
    ident.first_boot = true;
  }
  ident.incarnation += 1;
  if (auto err = write_file_atomically(path, render_identity(ident))) {
    return err;
  }
  return ident;
}

data_dir_lock::data_dir_lock(data_dir_lock&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)) {}

data_dir_lock& data_dir_lock::operator=(data_dir_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) {
    ::close(fd_); // releases the flock
  }
}

caf::expected<data_dir_lock>
data_dir_lock::acquire(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return caf::make_error(errc::data_dir_unusable,
                           fmt::format("cannot create data directory {}: {}",
                                       dir.string(), ec.message()));
  }
  auto path = dir / "LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return caf::make_error(errc::data_dir_unusable,
                           fmt::format("cannot open {}: {}", path.string(),
                                       std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    auto err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return caf::make_error(
        errc::data_dir_locked,
        fmt::format("data directory {} is in use by another running node",
                    dir.string()));
    }
    return caf::make_error(errc::data_dir_unusable,
                           fmt::format("cannot lock {}: {}", path.string(),
                                       std::strerror(err)));
  }
  return data_dir_lock{fd};
}

} // namespace troupe::runtime

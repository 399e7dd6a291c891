// Node identity: a persistent node id and a per-boot incarnation number.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

#include <caf/expected.hpp>

namespace troupe::runtime {

/// Who this node is across reboots (`node_id`) and in this boot
/// (`incarnation`). Peers use the pair to tell a restarted node from its
/// previous self.
struct node_identity {
  /// 32 lowercase hex digits, created on first boot, kept forever after.
  std::string node_id;
  /// 1 on first boot, one more on every boot after.
  std::uint64_t incarnation = 0;
  /// True when this boot created the identity.
  bool first_boot = false;
  /// Where a corrupt identity file was moved before a new one was made.
  std::optional<std::filesystem::path> set_aside_file{};
};

/// Name of the identity file inside the data directory.
inline constexpr const char* identity_file_name = "node.identity";

/// Reads the identity from `data_dir`, or creates it, then stores it with the
/// incarnation increased by one (atomically, before returning). A corrupt file
/// is set aside and replaced by a new identity; it never stops the boot.
caf::expected<node_identity>
boot_identity(const std::filesystem::path& data_dir, std::mt19937_64& rng);

/// Holds an exclusive lock on a data directory while alive, so that two
/// nodes never share one. Movable, not copyable.
class data_dir_lock {
public:
  data_dir_lock(data_dir_lock&& other) noexcept;
  data_dir_lock& operator=(data_dir_lock&& other) noexcept;
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;
  ~data_dir_lock();

  /// Creates `dir` if needed and locks it; `errc::data_dir_locked` if another
  /// node holds it, `errc::data_dir_unusable` if it cannot be created.
  static caf::expected<data_dir_lock> acquire(const std::filesystem::path& dir);

private:
  explicit data_dir_lock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

} // namespace troupe::runtime

// Crash-safe file replacement: write a temporary file, fsync, rename.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace troupe::runtime {

/// Replaces `path` with `contents` so that a crash at any point leaves either
/// the old or the new file, never a torn one. Returns an
/// `errc::data_dir_unusable` error naming the path on failure.
caf::error write_file_atomically(const std::filesystem::path& path,
                                 std::string_view contents);

/// Reads the whole file at `path`.
caf::expected<std::string> read_file(const std::filesystem::path& path);

/// Moves a damaged file out of the way as `<name>.corrupt-<n>` with the first
/// free `n`, so that it can be inspected later; returns the new path.
caf::expected<std::filesystem::path>
set_aside(const std::filesystem::path& path);

} // namespace troupe::runtime

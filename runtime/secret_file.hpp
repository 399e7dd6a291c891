// Secrets kept in files only their owner may read: the cluster secret, the
// console token.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <caf/expected.hpp>

namespace troupe::runtime {

/// Reads the secret in `path`, first creating the file (mode 0600, 32
/// random bytes as hex) if it does not exist; two processes creating it at
/// once agree on one secret. Refuses a file that others may read or write,
/// or that is empty. Errors (`invalid_config`) name `what` and the path.
caf::expected<std::string> load_secret_file(const std::filesystem::path& path,
                                            std::string_view what);

} // namespace troupe::runtime

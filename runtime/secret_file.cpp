// Secrets kept in files only their owner may read.
#include "secret_file.hpp"

#include "atomic_file.hpp"
#include "errors.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace troupe::runtime {

namespace {

caf::error secret_error(std::string_view what,
                        const std::filesystem::path& path,
                        const std::string& why) {
  return caf::make_error(errc::invalid_config,
                         fmt::format("{} {}: {}", what, path.string(), why));
}

// Creates the file only if it does not exist yet, so that two processes
// starting at once agree on one secret.
caf::error create_secret(std::string_view what,
                         const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return errno == EEXIST ? caf::error{}
                           : secret_error(what, path, std::strerror(errno));
  }
  unsigned char raw[32];
  randombytes_buf(raw, sizeof(raw));
  char hex[sizeof(raw) * 2 + 1];
  sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
  std::string text = std::string{hex} + "\n";
  auto n = ::write(fd, text.data(), text.size());
  ::fsync(fd);
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return secret_error(what, path, "could not be written");
  }
  return {};
}

} // namespace

caf::expected<std::string> load_secret_file(const std::filesystem::path& path,
                                            std::string_view what) {
  if (sodium_init() < 0) {
    return secret_error(what, path, "libsodium did not start");
  }
  if (auto err = create_secret(what, path)) {
    return err;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return secret_error(what, path, std::strerror(errno));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return secret_error(what, path,
                        "others may read or write it (chmod 600 it)");
  }
  auto text = read_file(path);
  if (!text) {
    return std::move(text.error());
  }
  while (!text->empty()
         && std::isspace(static_cast<unsigned char>(text->back()))) {
    text->pop_back();
  }
  if (text->empty()) {
    return secret_error(what, path, "it is empty");
  }
  return *text;
}

} // namespace troupe::runtime

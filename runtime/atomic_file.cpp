// Crash-safe file replacement: write a temporary file, fsync, rename.
#include "atomic_file.hpp"

#include "errors.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace troupe::runtime {

namespace {

caf::error io_error(std::string_view what, const std::filesystem::path& path,
                    int err) {
  return caf::make_error(errc::data_dir_unusable,
                         fmt::format("cannot {} {}: {}", what, path.string(),
                                     std::strerror(err)));
}

// Closes a file descriptor when it goes out of scope.
class fd_guard {
public:
  explicit fd_guard(int fd) : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const {
    return fd_;
  }
  int release() {
    auto fd = fd_;
    fd_ = -1;
    return fd;
  }

private:
  int fd_;
};

caf::error fsync_dir(const std::filesystem::path& dir) {
  fd_guard fd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
    return io_error("sync directory", dir, errno);
  }
  return {};
}

} // namespace

caf::error write_file_atomically(const std::filesystem::path& path,
                                 std::string_view contents) {
  auto tmp = path;
  tmp += ".tmp";
  fd_guard fd{
    ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (fd.get() < 0) {
    return io_error("create", tmp, errno);
  }
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    auto n = ::write(fd.get(), data, left);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return io_error("write", tmp, errno);
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return io_error("sync", tmp, errno);
  }
  if (::close(fd.release()) != 0) {
    return io_error("close", tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return io_error("rename into place", path, errno);
  }
  auto dir = path.parent_path();
  return fsync_dir(dir.empty() ? std::filesystem::path{"."} : dir);
}

caf::expected<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) {
    return io_error("open", path, errno);
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    return io_error("read", path, errno);
  }
  return std::move(buf).str();
}

caf::expected<std::filesystem::path>
set_aside(const std::filesystem::path& path) {
  for (int n = 1; n < 10000; ++n) {
    auto target = path;
    target += fmt::format(".corrupt-{}", n);
    std::error_code ec;
    if (std::filesystem::exists(target, ec)) {
      continue;
    }
    std::filesystem::rename(path, target, ec);
    if (ec) {
      return io_error("set aside", path, ec.value());
    }
    return target;
  }
  return caf::make_error(errc::data_dir_unusable,
                         fmt::format("cannot set aside {}: too many copies",
                                     path.string()));
}

} // namespace troupe::runtime

// Starts a troupe-node process for a test, watches it, stops or kills it.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace troupe::testkit {

/// Path of the troupe-node binary, from TROUPE_TEST_NODE_BIN.
std::filesystem::path troupe_node_binary();

/// A fresh, empty directory under the system's temporary directory, removed
/// when the object goes away.
class temp_dir {
public:
  temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir();

  const std::filesystem::path& path() const {
    return path_;
  }

private:
  std::filesystem::path path_;
};

/// One child process. Its standard output and error go to files in
/// `work_dir`; the destructor kills it if it still runs.
class node_process {
public:
  /// What to run.
  struct options {
    std::filesystem::path binary = troupe_node_binary();
    std::vector<std::string> args{};
    /// Added to (or replacing entries of) the test's environment.
    std::map<std::string, std::string> env{};
    /// Working directory, also where the output files go.
    std::filesystem::path work_dir{};
  };

  explicit node_process(options opts);
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;
  ~node_process();

  pid_t pid() const {
    return pid_;
  }

  /// Sends a signal (SIGTERM, SIGKILL, SIGSTOP, ...).
  void signal(int sig);

  /// Waits up to `deadline` for the process to exit; returns its raw
  /// status (for WIFEXITED and friends), or nullopt if it still runs.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);

  /// Whether the process has exited (reaps it if so).
  bool exited();

  /// What the process wrote to standard output and standard error so far.
  std::string stdout_text() const;
  std::string stderr_text() const;

private:
  options opts_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// Environment for test clusters of node processes: gossip and heartbeats
/// every 100 ms, down after 1 s, two scheduler threads.
std::map<std::string, std::string> fast_cluster_env();

/// Reads a text file, empty if it does not exist.
std::string read_text(const std::filesystem::path& path);

/// The port a node listens on, from the `listen=<host>:<port>` of the last
/// `event=node.start` line in its log `log`, waiting up to `deadline` for
/// it; empty if none came.
std::string started_port(const std::filesystem::path& log,
                         const std::string& host,
                         std::chrono::milliseconds deadline);

} // namespace troupe::testkit

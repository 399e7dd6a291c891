// Starts a troupe-node process for a test, watches it, stops or kills it.
#include "troupe/testkit/node_process.hpp"

#include "troupe/testkit/wait.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace troupe::testkit {

std::filesystem::path troupe_node_binary() {
  const char* path = std::getenv("TROUPE_TEST_NODE_BIN");
  if (path == nullptr || *path == '\0') {
    throw std::runtime_error("TROUPE_TEST_NODE_BIN is not set; run the tests "
                             "through meson");
  }
  return path;
}

temp_dir::temp_dir() {
  auto pattern
    = (std::filesystem::temp_directory_path() / "troupe-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error(std::string{"mkdtemp: "} + std::strerror(errno));
  }
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::map<std::string, std::string> fast_cluster_env() {
  return {
    {"TROUPE_CLUSTER_GOSSIP_INTERVAL", "100ms"},
    {"TROUPE_CLUSTER_HEARTBEAT_INTERVAL", "100ms"},
    {"TROUPE_CLUSTER_DOWN_AFTER", "1s"},
    {"TROUPE_SCHEDULER_THREADS", "2"},
  };
}

std::string started_port(const std::filesystem::path& log,
                         const std::string& host,
                         std::chrono::milliseconds deadline) {
  std::string port;
  wait_until(
    [&] {
      auto text = read_text(log);
      auto at = text.rfind("event=node.start ");
      const auto key = "listen=" + host + ":";
      auto p = at == std::string::npos ? at : text.find(key, at);
      if (p == std::string::npos) {
        return false;
      }
      p += key.size();
      port = text.substr(p, text.find_first_not_of("0123456789", p) - p);
      return !port.empty();
    },
    deadline);
  return port;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

node_process::node_process(options opts) : opts_(std::move(opts)) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    auto eq = entry.find('=');
    if (eq != std::string::npos) {
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  for (const auto& [k, v] : opts_.env) {
    env[k] = v;
  }
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [k, v] : env) {
    env_strings.emplace_back(k).append("=").append(v);
  }
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& s : env_strings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> args{opts_.binary.string()};
  args.insert(args.end(), opts_.args.begin(), opts_.args.end());
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  auto out_path = (opts_.work_dir / "stdout.txt").string();
  auto err_path = (opts_.work_dir / "stderr.txt").string();
  auto dir = opts_.work_dir.string();
  pid_ = ::fork();
  if (pid_ < 0) {
    throw std::runtime_error(std::string{"fork: "} + std::strerror(errno));
  }
  if (pid_ == 0) {
    // Child: only async-signal-safe calls from here on.
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0
        || ::chdir(dir.c_str()) != 0) {
      ::_exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
}

node_process::~node_process() {
  if (!exited()) {
    signal(SIGKILL);
    wait_exit(std::chrono::seconds{10});
  }
}

void node_process::signal(int sig) {
  if (!status_) {
    ::kill(pid_, sig);
  }
}

bool node_process::exited() {
  if (status_) {
    return true;
  }
  int status = 0;
  auto res = ::waitpid(pid_, &status, WNOHANG);
  if (res == pid_) {
    status_ = status;
  }
  return status_.has_value();
}

std::optional<int> node_process::wait_exit(std::chrono::milliseconds deadline) {
  wait_until([this] { return exited(); }, deadline);
  return status_;
}

std::string node_process::stdout_text() const {
  return read_text(opts_.work_dir / "stdout.txt");
}

std::string node_process::stderr_text() const {
  return read_text(opts_.work_dir / "stderr.txt");
}

} // namespace troupe::testkit

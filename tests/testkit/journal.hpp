// A thread-safe list of lines that actors append to and tests read, for
// asserting on what happened and in which order.
#pragma once

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace troupe::testkit {

class journal {
public:
  void add(std::string line) {
    std::lock_guard guard{mtx_};
    lines_.push_back(std::move(line));
  }

  /// A copy of the lines so far.
  std::vector<std::string> snapshot() const {
    std::lock_guard guard{mtx_};
    return lines_;
  }

  bool has(const std::string& line) const {
    auto s = snapshot();
    return std::find(s.begin(), s.end(), line) != s.end();
  }

  /// Position of the first `line`, or -1.
  long index_of(const std::string& line) const {
    auto s = snapshot();
    auto i = std::find(s.begin(), s.end(), line);
    return i == s.end() ? -1 : i - s.begin();
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::string> lines_;
};

} // namespace troupe::testkit

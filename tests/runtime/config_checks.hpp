// Helpers the configuration tests share.
#pragma once

#include "troupe/runtime/config.hpp"
#include "troupe/runtime/errors.hpp"
#include "troupe/testkit/node_process.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace troupe::test {

/// Writes `text` to node.toml in `dir` and returns its path.
inline std::filesystem::path write_toml(const testkit::temp_dir& dir,
                                        const std::string& text) {
  auto path = dir.path() / "node.toml";
  std::ofstream{path} << text;
  return path;
}

/// Loads and expects failure; returns the one-line message.
inline std::string load_error(const runtime::config_input& input) {
  auto cfg = runtime::load_config(input);
  REQUIRE_FALSE(cfg);
  auto text = runtime::describe(cfg.error());
  CHECK(text.find('\n') == std::string::npos);
  return text;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace troupe::test

// Tests of the compiled-in version and build information.
#include "troupe/runtime/build_info.hpp"

#include "troupe/runtime/errors.hpp"
#include "troupe/runtime/system_config.hpp"

#include <doctest/doctest.h>

#include <caf/actor_system.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

namespace rt = troupe::runtime;

TEST_SUITE_BEGIN("runtime.build_info");

TEST_CASE("every build info field is filled") {
  const auto& info = rt::this_build();
  CHECK_FALSE(info.version.empty());
  CHECK_FALSE(info.git_describe.empty());
  CHECK_FALSE(info.build_type.empty());
  CHECK_FALSE(info.sanitizers.empty());
  CHECK_FALSE(info.compiler.empty());
  CHECK_EQ(info.caf_version, "0.17.6");
  CHECK_EQ(info.capnp_version.substr(0, 2), "0.");
  CHECK_EQ(info.spdlog_version.substr(0, 2), "1.");
  const char* src = std::getenv("TROUPE_SOURCE_DIR");
  if (src != nullptr
      && std::filesystem::exists(std::filesystem::path{src} / ".git")) {
    // Built from a git checkout: the commit must be the real hash.
    CHECK_EQ(info.commit.size(), 40u);
    CHECK(std::all_of(info.commit.begin(), info.commit.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c));
    }));
    CHECK_EQ(info.dirty, info.git_describe.ends_with("-dirty"));
  }
}

TEST_CASE("the version text names version, commit, build type and CAF") {
  const auto& info = rt::this_build();
  auto text = rt::to_text(info);
  CHECK(text.find(info.version) != std::string::npos);
  CHECK(text.find(info.commit) != std::string::npos);
  CHECK(text.find(info.build_type) != std::string::npos);
  CHECK(text.find(info.compiler) != std::string::npos);
  CHECK(text.find("CAF 0.17.6") != std::string::npos);
  auto line = rt::to_log_line(info);
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line.find("caf=0.17.6") != std::string::npos);
}

TEST_CASE("runtime errors render through CAF with their category") {
  rt::system_config cfg;
  cfg.use_test_scheduler();
  caf::actor_system sys{cfg};
  auto err = caf::make_error(rt::errc::data_dir_locked, "held by pid 7");
  CHECK_EQ(sys.render(err), "runtime: data_dir_locked: held by pid 7");
  CHECK_EQ(rt::describe(err), "held by pid 7");
  CHECK_EQ(rt::describe(caf::make_error(rt::errc::corrupt_file)),
           "runtime: corrupt_file");
}

TEST_SUITE_END();

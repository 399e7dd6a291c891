// Version and build information compiled into every Troupe binary.
#include "build_info.hpp"

#include "runtime/build_config.hpp"

#include <caf/config.hpp>
#include <capnp/common.h>
#include <fmt/format.h>
#include <spdlog/version.h>

namespace troupe::runtime {

namespace detail {
extern const char* const vcs_describe;
extern const char* const vcs_commit;
} // namespace detail

namespace {

#define TROUPE_STR2(x) #x
#define TROUPE_STR(x) TROUPE_STR2(x)

constexpr std::string_view capnp_version_text
  = TROUPE_STR(CAPNP_VERSION_MAJOR) "." TROUPE_STR(
    CAPNP_VERSION_MINOR) "." TROUPE_STR(CAPNP_VERSION_MICRO);

constexpr std::string_view spdlog_version_text
  = TROUPE_STR(SPDLOG_VER_MAJOR) "." TROUPE_STR(
    SPDLOG_VER_MINOR) "." TROUPE_STR(SPDLOG_VER_PATCH);

#undef TROUPE_STR
#undef TROUPE_STR2

// CAF_VERSION is major * 10000 + minor * 100 + patch, e.g. 1706.
std::string caf_version_text() {
  return fmt::format("{}.{}.{}", CAF_VERSION / 10000, (CAF_VERSION / 100) % 100,
                     CAF_VERSION % 100);
}

bool ends_with_dirty(std::string_view describe) {
  constexpr std::string_view suffix = "-dirty";
  return describe.size() >= suffix.size()
         && describe.substr(describe.size() - suffix.size()) == suffix;
}

} // namespace

const build_info& this_build() {
  static const std::string caf = caf_version_text();
  static const build_info info{
    .version = TROUPE_VERSION,
    .git_describe = detail::vcs_describe,
    .commit = detail::vcs_commit,
    .dirty = ends_with_dirty(detail::vcs_describe),
    .build_type = TROUPE_BUILD_TYPE,
    .sanitizers = TROUPE_SANITIZERS,
    .compiler = TROUPE_COMPILER,
    .caf_version = caf,
    .capnp_version = capnp_version_text,
    .spdlog_version = spdlog_version_text,
  };
  return info;
}

std::string to_log_line(const build_info& info) {
  return fmt::format("version={} git={} commit={} dirty={} build_type={} "
                     "sanitizers={} compiler=\"{}\" caf={} capnp={} spdlog={}",
                     info.version, info.git_describe, info.commit, info.dirty,
                     info.build_type, info.sanitizers, info.compiler,
                     info.caf_version, info.capnp_version, info.spdlog_version);
}

std::string to_text(const build_info& info) {
  return fmt::format("troupe {} ({}{})\n"
                     "commit:     {}\n"
                     "build type: {} (sanitizers: {})\n"
                     "compiler:   {}\n"
                     "libraries:  CAF {}, Cap'n Proto {}, spdlog {}\n",
                     info.version, info.git_describe,
                     info.dirty ? ", local changes" : "", info.commit,
                     info.build_type, info.sanitizers, info.compiler,
                     info.caf_version, info.capnp_version, info.spdlog_version);
}

} // namespace troupe::runtime

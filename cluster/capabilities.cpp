// Capabilities: what a node's build supports, and what the cluster may use.
#include "capabilities.hpp"

#include "../runtime/build_info.hpp"
#include "errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <optional>

namespace troupe::cluster {

namespace {

constexpr std::size_t max_capabilities = 32;
constexpr std::size_t max_capability_bytes = 64;

bool valid_name(std::string_view name) {
  return !name.empty() && name.size() <= max_capability_bytes
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                     || c == '.' || c == '_' || c == '-';
            });
}

bool active(const member& m) {
  return m.is_active();
}

} // namespace

std::set<std::string> troupe_capabilities() {
  return {std::string{capability_negotiation},
          std::string{capability_forget_removed}};
}

std::string this_software() {
  const auto& b = runtime::this_build();
  return fmt::format("{} ({})", b.version, b.git_describe);
}

caf::error check_capabilities(const std::set<std::string>& caps) {
  if (caps.size() > max_capabilities) {
    return caf::make_error(errc::invalid_settings,
                           fmt::format("{} capabilities (at most {})",
                                       caps.size(), max_capabilities));
  }
  for (const auto& c : caps) {
    if (!valid_name(c)) {
      return caf::make_error(
        errc::invalid_settings,
        fmt::format("capability {:?}: expected 1 to {} bytes of a-z, 0-9, "
                    "'.', '_' or '-'",
                    c, max_capability_bytes));
    }
  }
  return {};
}

std::set<std::string>
negotiated_capabilities(const std::vector<member>& members) {
  std::optional<std::set<std::string>> common;
  for (const auto& m : members) {
    if (!active(m)) {
      continue;
    }
    if (!common) {
      common = m.capabilities;
      continue;
    }
    std::set<std::string> both;
    std::set_intersection(common->begin(), common->end(),
                          m.capabilities.begin(), m.capabilities.end(),
                          std::inserter(both, both.end()));
    common = std::move(both);
  }
  return common ? *common : std::set<std::string>{};
}

std::vector<std::pair<std::string, std::set<std::string>>>
missing_capabilities(const std::vector<member>& members) {
  std::set<std::string> all;
  for (const auto& m : members) {
    if (active(m)) {
      all.insert(m.capabilities.begin(), m.capabilities.end());
    }
  }
  std::vector<std::pair<std::string, std::set<std::string>>> out;
  for (const auto& m : members) {
    if (!active(m)) {
      continue;
    }
    std::set<std::string> lacks;
    std::set_difference(all.begin(), all.end(), m.capabilities.begin(),
                        m.capabilities.end(),
                        std::inserter(lacks, lacks.end()));
    if (!lacks.empty()) {
      out.emplace_back(m.name, std::move(lacks));
    }
  }
  return out;
}

} // namespace troupe::cluster

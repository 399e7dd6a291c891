// Applications: spec validation and dependency order.
#include "application.hpp"

#include "../runtime/errors.hpp"
#include "errors.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace troupe::supervision {

namespace {

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

caf::error invalid(const application_spec& spec, std::string_view field,
                   std::string_view why) {
  return caf::make_error(errc::invalid_application,
                         fmt::format("application \"{}\": {}: {}", spec.name,
                                     field, why));
}

// Depth-first visit; `path` is the chain being visited, for cycle reports.
caf::error visit(const dependency_graph& graph, const std::string& name,
                 std::vector<std::string>& path, std::set<std::string>& done,
                 std::vector<std::string>& out) {
  if (done.count(name) != 0) {
    return {};
  }
  if (auto i = std::find(path.begin(), path.end(), name); i != path.end()) {
    std::string cycle;
    for (; i != path.end(); ++i) {
      cycle += *i + " -> ";
    }
    return caf::make_error(errc::dependency_cycle, cycle + name);
  }
  auto node = graph.find(name);
  if (node == graph.end()) {
    auto context = path.empty()
                     ? fmt::format("application \"{}\" is not loaded", name)
                     : fmt::format("application \"{}\" (needed by \"{}\") is "
                                   "not loaded",
                                   name, path.back());
    return caf::make_error(errc::no_such_application, std::move(context));
  }
  path.push_back(name);
  for (const auto& dep : node->second) {
    if (auto err = visit(graph, dep, path, done, out)) {
      return err;
    }
  }
  path.pop_back();
  done.insert(name);
  out.push_back(name);
  return {};
}

} // namespace

caf::error validate(const application_spec& spec) {
  if (!valid_name(spec.name)) {
    return invalid(spec, "name",
                   "expected letters, digits, '_', '-' or '.', at least one");
  }
  std::set<std::string> seen;
  for (const auto& dep : spec.dependencies) {
    if (dep == spec.name) {
      return invalid(spec, "dependencies", "depends on itself");
    }
    if (!seen.insert(dep).second) {
      return invalid(spec, "dependencies", "\"" + dep + "\" listed twice");
    }
  }
  if (auto err = validate(spec.flags, spec.children)) {
    return caf::make_error(errc::invalid_application,
                           fmt::format("application \"{}\": {}", spec.name,
                                       runtime::describe(err)));
  }
  return {};
}

caf::expected<std::vector<std::string>>
start_order(const dependency_graph& graph, const std::string& target) {
  std::vector<std::string> path;
  std::set<std::string> done;
  std::vector<std::string> out;
  if (auto err = visit(graph, target, path, done, out)) {
    return err;
  }
  return out;
}

std::string to_string(app_restart_type x) {
  switch (x) {
    case app_restart_type::permanent:
      return "permanent";
    case app_restart_type::transient:
      return "transient";
    case app_restart_type::temporary:
      return "temporary";
  }
  return "app_restart_type(?)";
}

bool stops_node(app_restart_type type, const caf::error& reason) {
  switch (type) {
    case app_restart_type::permanent:
      return true;
    case app_restart_type::transient:
      // Anything but normal, as OTP's: a top supervisor that gives up, or
      // that shut itself down because its significant children finished,
      // exits with shutdown, and that stops the node too.
      return static_cast<bool>(reason);
    case app_restart_type::temporary:
      return false;
  }
  return false;
}

} // namespace troupe::supervision

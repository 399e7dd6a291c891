// Error codes of the runtime layer.
#include "errors.hpp"

#include <caf/atom.hpp>
#include <caf/message.hpp>
#include <fmt/format.h>

namespace troupe::runtime {

std::string to_string(errc code) {
  switch (code) {
    case errc::invalid_config:
      return "invalid_config";
    case errc::config_file_unreadable:
      return "config_file_unreadable";
    case errc::data_dir_unusable:
      return "data_dir_unusable";
    case errc::data_dir_locked:
      return "data_dir_locked";
    case errc::corrupt_file:
      return "corrupt_file";
  }
  return "errc(" + std::to_string(static_cast<int>(code)) + ")";
}

std::string render_error(std::string_view category, std::string code_name,
                         const caf::message& context) {
  if (context.size() == 1 && context.match_element<std::string>(0)) {
    return fmt::format("{}: {}: {}", category, code_name,
                       context.get_as<std::string>(0));
  }
  if (!context.empty()) {
    return fmt::format("{}: {} {}", category, code_name,
                       caf::to_string(context));
  }
  return fmt::format("{}: {}", category, code_name);
}

std::string describe(const caf::error& err) {
  const auto& ctx = err.context();
  // A text first says what went wrong; what follows it is for code.
  if (!ctx.empty() && ctx.match_element<std::string>(0)) {
    return ctx.get_as<std::string>(0);
  }
  if (err.category() == caf::atom("runtime")) {
    return fmt::format("runtime: {}", to_string(static_cast<errc>(err.code())));
  }
  return caf::to_string(err);
}

} // namespace troupe::runtime

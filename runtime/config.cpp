// Node configuration: defaults, TOML file, TROUPE_* environment, flags.
#include "config.hpp"

#include "errors.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>

namespace troupe::runtime {

namespace {

// A validator returns the "what was expected" text on failure.
using apply_fn = std::function<std::optional<std::string>(
  node_config&, const std::vector<std::string>&)>;

struct setting {
  setting_info info;
  apply_fn apply;
};

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'
         || c == '.';
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.'
         || c == ':' || c == '_';
}

bool valid_host(std::string_view host) {
  return !host.empty() && host.size() <= 253
         && std::all_of(host.begin(), host.end(), is_host_char);
}

template <class Int>
std::optional<Int> parse_uint(std::string_view text, Int max) {
  std::uint64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > max) {
    return std::nullopt;
  }
  return static_cast<Int>(value);
}

std::string join_values(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) {
      out += ',';
    }
    out += v;
  }
  return out;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto piece = text.substr(pos, comma == std::string_view::npos
                                    ? std::string_view::npos
                                    : comma - pos);
    if (!piece.empty()) {
      out.emplace_back(piece);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    pos = comma + 1;
  }
  return out;
}

std::optional<std::string> apply_name(node_config& cfg,
                                      const std::vector<std::string>& values) {
  constexpr auto expected = "a node name `name` or `name@host`; name of 1-64 "
                            "letters, digits, '_', '-' or '.'";
  if (values.size() != 1) {
    return expected;
  }
  std::string_view text = values.front();
  auto at = text.find('@');
  auto name = text.substr(0, at);
  if (name.empty() || name.size() > 64
      || !std::all_of(name.begin(), name.end(), is_name_char)) {
    return expected;
  }
  cfg.name = std::string{name};
  if (at != std::string_view::npos) {
    auto host = text.substr(at + 1);
    if (!valid_host(host)) {
      return expected;
    }
    cfg.host = std::string{host};
  }
  return std::nullopt;
}

std::optional<std::string> apply_listen(node_config& cfg,
                                        const std::vector<std::string>& vals) {
  auto ep = parse_endpoint(vals.size() == 1 ? vals.front() : "");
  if (!ep) {
    return "host:port with a port from 0 to 65535 (0 picks a free port)";
  }
  cfg.listen = *ep;
  return std::nullopt;
}

std::optional<std::string> apply_advertise(node_config& cfg,
                                           const std::vector<std::string>& v) {
  auto ep = parse_endpoint(v.size() == 1 ? v.front() : "");
  if (!ep || ep->host == "0.0.0.0" || ep->host == "::") {
    return "host:port that other nodes can dial (not a wildcard address; "
           "port 0: the listen port)";
  }
  cfg.advertise = *ep;
  return std::nullopt;
}

// An optional listener: host:port, or off.
template <std::optional<endpoint> observe_config::*Member>
std::optional<std::string>
apply_optional_listener(node_config& cfg, const std::vector<std::string>& v) {
  if (v.size() == 1 && v.front() == "off") {
    cfg.observe.*Member = std::nullopt;
    return std::nullopt;
  }
  auto text = v.size() == 1 ? v.front() : std::string{};
  // A port alone listens on loopback.
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    text = "127.0.0.1:" + text;
  }
  auto ep = parse_endpoint(text);
  if (!ep) {
    return "host:port or a port alone (loopback; 0 picks a free one), or off";
  }
  cfg.observe.*Member = *ep;
  return std::nullopt;
}

std::optional<std::string> apply_data_dir(node_config& cfg,
                                          const std::vector<std::string>& v) {
  if (v.size() != 1 || v.front().empty()) {
    return "a directory path";
  }
  cfg.data_dir = v.front();
  return std::nullopt;
}

std::optional<std::string> apply_level(node_config& cfg,
                                       const std::vector<std::string>& v) {
  auto level = parse_log_level(v.size() == 1 ? v.front() : "");
  if (!level) {
    return "one of trace, debug, info, warn, error, critical, off";
  }
  cfg.level = *level;
  return std::nullopt;
}

std::optional<std::string> apply_max_bytes(node_config& cfg,
                                           const std::vector<std::string>& v) {
  constexpr std::uint64_t min = 4096;
  constexpr std::uint64_t max = std::uint64_t{1} << 40;
  auto n = v.size() == 1 ? parse_uint<std::uint64_t>(v.front(), max)
                         : std::nullopt;
  if (!n || *n < min) {
    return "a whole number of bytes from 4096 to 1099511627776";
  }
  cfg.log_max_file_bytes = *n;
  return std::nullopt;
}

std::optional<std::string> apply_max_files(node_config& cfg,
                                           const std::vector<std::string>& v) {
  auto n = v.size() == 1 ? parse_uint<std::uint32_t>(v.front(), 1000)
                         : std::nullopt;
  if (!n || *n < 1) {
    return "a whole number from 1 to 1000";
  }
  cfg.log_max_files = *n;
  return std::nullopt;
}

std::optional<std::string> apply_join(node_config& cfg,
                                      const std::vector<std::string>& values) {
  std::vector<endpoint> seeds;
  for (const auto& text : values) {
    for (const auto& piece : split_list(text)) {
      auto ep = parse_endpoint(piece);
      if (!ep || ep->port == 0) {
        return "a list of seed addresses host:port with ports from 1 to 65535";
      }
      seeds.push_back(*ep);
    }
  }
  cfg.join = std::move(seeds);
  return std::nullopt;
}

std::optional<std::string> apply_threads(node_config& cfg,
                                         const std::vector<std::string>& v) {
  auto n = v.size() == 1 ? parse_uint<std::uint32_t>(v.front(), 256)
                         : std::nullopt;
  if (!n) {
    return "a whole number of threads from 0 (CAF's default) to 256";
  }
  cfg.scheduler_threads = *n;
  return std::nullopt;
}

std::optional<std::string> apply_policy(node_config& cfg,
                                        const std::vector<std::string>& v) {
  if (v.size() == 1 && v.front() == "stealing") {
    cfg.policy = scheduler_policy::stealing;
  } else if (v.size() == 1 && v.front() == "sharing") {
    cfg.policy = scheduler_policy::sharing;
  } else {
    return "stealing or sharing";
  }
  return std::nullopt;
}

std::optional<std::string>
apply_cluster_name(node_config& cfg, const std::vector<std::string>& v) {
  if (v.size() != 1 || v.front().empty() || v.front().size() > 64
      || !std::all_of(v.front().begin(), v.front().end(), is_name_char)) {
    return "1 to 64 letters, digits, '_', '-' or '.'";
  }
  cfg.cluster.name = v.front();
  return std::nullopt;
}

std::optional<std::string>
apply_secret_file(node_config& cfg, const std::vector<std::string>& v) {
  if (v.size() != 1 || v.front().empty()) {
    return "a file path";
  }
  cfg.cluster.secret_file = v.front();
  return std::nullopt;
}

// A duration setting from `min` to `max`.
template <std::chrono::milliseconds cluster_config::*Member, long Min, long Max>
std::optional<std::string>
apply_interval(node_config& cfg, const std::vector<std::string>& v) {
  auto d = parse_duration(v.size() == 1 ? v.front() : "");
  if (!d || d->count() < Min || d->count() > Max) {
    return fmt::format("a duration from {}ms to {}ms, e.g. 500ms or 2s", Min,
                       Max);
  }
  cfg.cluster.*Member = *d;
  return std::nullopt;
}

// A duration setting that may be switched off.
template <std::optional<std::chrono::milliseconds> cluster_config::*Member>
std::optional<std::string>
apply_optional_interval(node_config& cfg, const std::vector<std::string>& v) {
  if (v.size() == 1 && v.front() == "off") {
    cfg.cluster.*Member = std::nullopt;
    return std::nullopt;
  }
  auto d = parse_duration(v.size() == 1 ? v.front() : "");
  if (!d || d->count() < 1) {
    return "a duration such as 5s, or off";
  }
  cfg.cluster.*Member = *d;
  return std::nullopt;
}

// A whole-number setting from `Min` to `Max`.
template <std::uint32_t cluster_config::*Member, std::uint32_t Min,
          std::uint32_t Max>
std::optional<std::string>
apply_count(node_config& cfg, const std::vector<std::string>& v) {
  auto n = v.size() == 1 ? parse_uint<std::uint32_t>(v.front(), Max)
                         : std::nullopt;
  if (!n || *n < Min) {
    return fmt::format("a whole number from {} to {}", Min, Max);
  }
  cfg.cluster.*Member = *n;
  return std::nullopt;
}

std::optional<std::string> apply_ring_size(node_config& cfg,
                                           const std::vector<std::string>& v) {
  auto n = v.size() == 1 ? parse_uint<std::uint32_t>(v.front(), 16384)
                         : std::nullopt;
  if (!n || *n == 0 || (*n & (*n - 1)) != 0) {
    return "a power of two from 1 to 16384";
  }
  cfg.cluster.ring_size = *n;
  return std::nullopt;
}

std::optional<std::string>
apply_phi_threshold(node_config& cfg, const std::vector<std::string>& v) {
  double x = 0;
  auto text = v.size() == 1 ? v.front() : std::string{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()
      || x < 1.0 || x > 50.0) {
    return "a number from 1 to 50";
  }
  cfg.cluster.phi_threshold = x;
  return std::nullopt;
}

std::optional<std::string>
apply_frame_bytes(node_config& cfg, const std::vector<std::string>& v) {
  constexpr std::uint64_t max = std::uint64_t{1} << 30;
  auto n = v.size() == 1 ? parse_uint<std::uint64_t>(v.front(), max)
                         : std::nullopt;
  if (!n || *n < 65536) {
    return "a whole number of bytes from 65536 to 1073741824";
  }
  cfg.cluster.max_frame_bytes = *n;
  return std::nullopt;
}

std::optional<std::string>
apply_split_brain(node_config& cfg, const std::vector<std::string>& v) {
  using strategy = split_brain_policy::strategy;
  auto text = v.size() == 1 ? v.front() : std::string{};
  constexpr std::string_view quorum = "static_quorum:";
  if (text == "keep_majority") {
    cfg.cluster.split_brain = {.kind = strategy::keep_majority};
  } else if (text == "serve_all") {
    cfg.cluster.split_brain = {.kind = strategy::serve_all};
  } else if (text == "keep_oldest") {
    cfg.cluster.split_brain = {.kind = strategy::keep_oldest};
  } else if (text.starts_with(quorum)) {
    auto n = parse_uint<std::uint32_t>(text.substr(quorum.size()), 1000);
    if (!n || *n == 0) {
      return "static_quorum:<n> with n from 1 to 1000";
    }
    cfg.cluster.split_brain = {.kind = strategy::static_quorum,
                               .quorum_size = *n};
  } else {
    return "keep_majority, static_quorum:<n>, keep_oldest or serve_all";
  }
  return std::nullopt;
}

std::optional<std::string> apply_security(node_config& cfg,
                                          const std::vector<std::string>& v) {
  auto text = v.size() == 1 ? v.front() : std::string{};
  for (auto s : {transport_security::encrypt, transport_security::authenticate,
                 transport_security::upgrade, transport_security::none}) {
    if (text == to_string(s)) {
      cfg.cluster.security = s;
      return std::nullopt;
    }
  }
  return "encrypt, authenticate, upgrade or none";
}

const std::vector<setting>& setting_table() {
  static const std::vector<setting> table{
    {{"node.name", "TROUPE_NODE_NAME", "--name", "name or name@host", false},
     apply_name},
    {{"node.listen", "TROUPE_NODE_LISTEN", "--listen", "host:port", false},
     apply_listen},
    {{"node.advertise", "TROUPE_NODE_ADVERTISE", "--advertise",
      "host:port other nodes dial", false},
     apply_advertise},
    {{"node.data_dir", "TROUPE_NODE_DATA_DIR", "--data-dir", "a directory",
      false},
     apply_data_dir},
    {{"log.level", "TROUPE_LOG_LEVEL", "--log-level",
      "trace|debug|info|warn|error|critical|off", false},
     apply_level},
    {{"log.max_file_bytes", "TROUPE_LOG_MAX_FILE_BYTES", "",
      "bytes, at least 4096", false},
     apply_max_bytes},
    {{"log.max_files", "TROUPE_LOG_MAX_FILES", "", "1 to 1000", false},
     apply_max_files},
    {{"cluster.join", "TROUPE_CLUSTER_JOIN", "--join", "host:port,...", true},
     apply_join},
    {{"cluster.name", "TROUPE_CLUSTER_NAME", "", "a name", false},
     apply_cluster_name},
    {{"cluster.secret_file", "TROUPE_CLUSTER_SECRET_FILE", "", "a file", false},
     apply_secret_file},
    {{"cluster.gossip_interval", "TROUPE_CLUSTER_GOSSIP_INTERVAL", "",
      "10ms to 60s", false},
     apply_interval<&cluster_config::gossip_interval, 10, 60000>},
    {{"cluster.heartbeat_interval", "TROUPE_CLUSTER_HEARTBEAT_INTERVAL", "",
      "10ms to 60s", false},
     apply_interval<&cluster_config::heartbeat_interval, 10, 60000>},
    {{"cluster.acceptable_pause", "TROUPE_CLUSTER_ACCEPTABLE_PAUSE", "",
      "0ms to 600s", false},
     apply_interval<&cluster_config::acceptable_pause, 0, 600000>},
    {{"cluster.phi_threshold", "TROUPE_CLUSTER_PHI_THRESHOLD", "", "1 to 50",
      false},
     apply_phi_threshold},
    {{"cluster.down_after", "TROUPE_CLUSTER_DOWN_AFTER", "", "duration|off",
      false},
     apply_optional_interval<&cluster_config::down_after>},
    {{"cluster.split_brain", "TROUPE_CLUSTER_SPLIT_BRAIN", "",
      "keep_majority|static_quorum:<n>|serve_all", false},
     apply_split_brain},
    {{"cluster.ring_size", "TROUPE_CLUSTER_RING_SIZE", "",
      "power of two, 1 to 16384", false},
     apply_ring_size},
    {{"cluster.target_n", "TROUPE_CLUSTER_TARGET_N", "", "1 to 16", false},
     apply_count<&cluster_config::target_n, 1, 16>},
    {{"cluster.handoff_concurrency", "TROUPE_CLUSTER_HANDOFF_CONCURRENCY", "",
      "1 to 64", false},
     apply_count<&cluster_config::handoff_concurrency, 1, 64>},
    {{"cluster.handoff_timeout", "TROUPE_CLUSTER_HANDOFF_TIMEOUT", "",
      "100ms to 1h", false},
     apply_interval<&cluster_config::handoff_timeout, 100, 3600000>},
    {{"cluster.passivate_after", "TROUPE_CLUSTER_PASSIVATE_AFTER", "",
      "duration|off", false},
     apply_optional_interval<&cluster_config::passivate_after>},
    {{"cluster.max_frame_bytes", "TROUPE_CLUSTER_MAX_FRAME_BYTES", "",
      "65536 to 1073741824", false},
     apply_frame_bytes},
    {{"cluster.handshake_timeout", "TROUPE_CLUSTER_HANDSHAKE_TIMEOUT", "",
      "100ms to 600s", false},
     apply_interval<&cluster_config::handshake_timeout, 100, 600000>},
    {{"cluster.max_pending_connections",
      "TROUPE_CLUSTER_MAX_PENDING_CONNECTIONS", "", "1 to 10000", false},
     apply_count<&cluster_config::max_pending_connections, 1, 10000>},
    {{"cluster.transport_security", "TROUPE_CLUSTER_TRANSPORT_SECURITY", "",
      "encrypt|authenticate|upgrade|none", false},
     apply_security},
    {{"console.tcp", "TROUPE_CONSOLE_TCP", "--console-tcp", "host:port|off",
      false},
     apply_optional_listener<&observe_config::console_tcp>},
    {{"http.listen", "TROUPE_HTTP_LISTEN", "--http", "host:port|off", false},
     apply_optional_listener<&observe_config::http>},
    {{"scheduler.threads", "TROUPE_SCHEDULER_THREADS", "", "0 to 256", false},
     apply_threads},
    {{"scheduler.policy", "TROUPE_SCHEDULER_POLICY", "", "stealing|sharing",
      false},
     apply_policy},
  };
  return table;
}

const setting* find_setting(std::string_view key) {
  for (const auto& s : setting_table()) {
    if (s.info.key == key) {
      return &s;
    }
  }
  return nullptr;
}

// A value with the place it came from, for error messages.
struct layered_value {
  std::vector<std::string> values;
  std::string origin;
};

using layers = std::map<std::string, layered_value, std::less<>>;

caf::error config_error(std::string text) {
  return caf::make_error(errc::invalid_config, std::move(text));
}

// Turns one TOML scalar into text; nullopt for tables, floats and dates.
std::optional<std::string> scalar_text(const toml::node& node) {
  if (auto s = node.as_string()) {
    return s->get();
  }
  if (auto i = node.as_integer()) {
    return std::to_string(i->get());
  }
  if (auto b = node.as_boolean()) {
    return b->get() ? "true" : "false";
  }
  if (auto f = node.as_floating_point()) {
    return fmt::format("{}", f->get());
  }
  return std::nullopt;
}

std::string toml_type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
      return "a date or time";
  }
  return "an unknown value";
}

const custom_setting* find_custom(const std::vector<custom_setting>& custom,
                                  std::string_view key) {
  auto i
    = std::find_if(custom.begin(), custom.end(),
                   [key](const custom_setting& s) { return s.key == key; });
  return i == custom.end() ? nullptr : &*i;
}

caf::error read_file_layer(const std::filesystem::path& path,
                           const std::vector<custom_setting>& custom,
                           layers& out) {
  toml::table root;
  try {
    root = toml::parse_file(path.string());
  } catch (const toml::parse_error& err) {
    const auto& where = err.source().begin;
    return caf::make_error(
      errc::config_file_unreadable,
      fmt::format("config: cannot read {}: {} (line {}, column {})",
                  path.string(), err.description(), where.line, where.column));
  }
  auto origin = fmt::format("file {}", path.string());
  caf::error result;
  root.for_each([&](const toml::key& section, const toml::node& node) {
    if (result) {
      return;
    }
    const auto* table = node.as_table();
    if (table == nullptr) {
      result = config_error(fmt::format(
        "config: {} = {} (from {}): expected a table such as [node], [log], "
        "[cluster] or [scheduler]",
        section.str(), toml_type_name(node), origin));
      return;
    }
    table->for_each([&](const toml::key& name, const toml::node& value) {
      if (result) {
        return;
      }
      auto key = fmt::format("{}.{}", section.str(), name.str());
      const auto* s = find_setting(key);
      const auto* c = s == nullptr ? find_custom(custom, key) : nullptr;
      if (s == nullptr && c == nullptr) {
        result = config_error(
          fmt::format("config: unknown key {} (from {}): expected one of the "
                      "keys listed by --help",
                      key, origin));
        return;
      }
      bool is_list = s != nullptr ? s->info.is_list : c->is_list;
      layered_value lv{.values = {}, .origin = origin};
      auto fail = [&] {
        result = config_error(fmt::format(
          "config: {} = {} (from {}): expected {}", key, toml_type_name(value),
          origin, is_list ? "an array of strings" : "a single value"));
      };
      if (const auto* arr = value.as_array()) {
        if (!is_list) {
          fail();
          return;
        }
        for (const auto& elem : *arr) {
          auto text = scalar_text(elem);
          if (!text) {
            fail();
            return;
          }
          lv.values.push_back(*text);
        }
      } else if (auto text = scalar_text(value)) {
        lv.values.push_back(*text);
      } else {
        fail();
        return;
      }
      out[key] = std::move(lv);
    });
  });
  return result;
}

caf::error read_env_layer(const std::map<std::string, std::string>& env,
                          const std::vector<custom_setting>& custom,
                          layers& out) {
  constexpr std::string_view prefixes[]
    = {"TROUPE_NODE_",      "TROUPE_LOG_",     "TROUPE_CLUSTER_",
       "TROUPE_SCHEDULER_", "TROUPE_CONSOLE_", "TROUPE_HTTP_"};
  for (const auto& entry : env) {
    const auto& var = entry.first;
    const auto& value = entry.second;
    bool known = false;
    for (const auto& s : setting_table()) {
      if (s.info.env == var) {
        out[std::string{s.info.key}] = layered_value{
          .values = {value},
          .origin = fmt::format("environment {}", var),
        };
        known = true;
      }
    }
    for (const auto& c : custom) {
      if (custom_env_name(c.key) == var) {
        out[c.key] = layered_value{
          .values = c.is_list ? split_list(value)
                              : std::vector<std::string>{value},
          .origin = fmt::format("environment {}", var),
        };
        known = true;
      }
    }
    bool claims_section
      = std::any_of(std::begin(prefixes), std::end(prefixes),
                    [&var](std::string_view p) { return var.rfind(p, 0) == 0; })
        || std::any_of(
          custom.begin(), custom.end(), [&var](const custom_setting& c) {
            auto section = custom_env_name(c.key.substr(0, c.key.find('.')));
            return var.rfind(section + "_", 0) == 0;
          });
    if (!known && claims_section) {
      return config_error(fmt::format(
        "config: unknown environment variable {}={}: expected one of the "
        "TROUPE_* variables listed by --help",
        var, value));
    }
  }
  return {};
}

caf::error
read_flag_layer(const std::map<std::string, std::vector<std::string>>& flags,
                const std::vector<custom_setting>& custom, layers& out) {
  for (const auto& [key, values] : flags) {
    const auto* s = find_setting(key);
    const auto* c = s == nullptr ? find_custom(custom, key) : nullptr;
    if (s == nullptr && c == nullptr) {
      return config_error(fmt::format("config: unknown key {}", key));
    }
    std::string_view flag = s != nullptr ? s->info.flag : c->flag;
    out[key] = layered_value{
      .values = values,
      .origin = flag.empty() ? fmt::format("flag for {}", key)
                             : fmt::format("flag {}", flag),
    };
  }
  return {};
}

} // namespace

caf::expected<endpoint> parse_endpoint(std::string_view text) {
  auto fail = [&] {
    return caf::make_error(errc::invalid_config,
                           fmt::format("invalid address {:?}", text));
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size()
        || text[close + 1] != ':') {
      return fail();
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail();
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail(); // IPv6 needs brackets
    }
  }
  auto number = parse_uint<std::uint16_t>(port, 65535);
  if (!valid_host(host) || !number) {
    return fail();
  }
  return endpoint{.host = std::string{host}, .port = *number};
}

std::string to_string(const split_brain_policy& p) {
  switch (p.kind) {
    case split_brain_policy::strategy::keep_majority:
      return "keep_majority";
    case split_brain_policy::strategy::static_quorum:
      return fmt::format("static_quorum:{}", p.quorum_size);
    case split_brain_policy::strategy::serve_all:
      return "serve_all";
    case split_brain_policy::strategy::keep_oldest:
      return "keep_oldest";
  }
  return "split_brain_policy(?)";
}

std::string to_string(transport_security s) {
  switch (s) {
    case transport_security::encrypt:
      return "encrypt";
    case transport_security::authenticate:
      return "authenticate";
    case transport_security::upgrade:
      return "upgrade";
    case transport_security::none:
      return "none";
  }
  return "transport_security(?)";
}

std::string to_string(const endpoint& ep) {
  if (ep.host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", ep.host, ep.port);
  }
  return fmt::format("{}:{}", ep.host, ep.port);
}

caf::expected<std::chrono::milliseconds> parse_duration(std::string_view text) {
  using namespace std::chrono;
  auto digits
    = std::find_if(text.begin(), text.end(),
                   [](char c) {
                     return !std::isdigit(static_cast<unsigned char>(c));
                   })
      - text.begin();
  auto unit = text.substr(static_cast<size_t>(digits));
  auto count = parse_uint<std::uint64_t>(text.substr(0, digits),
                                         std::uint64_t{1} << 40);
  std::optional<milliseconds> result;
  if (count) {
    if (unit == "ms") {
      result = milliseconds{*count};
    } else if (unit == "s") {
      result = seconds{*count};
    } else if (unit == "m") {
      result = minutes{*count};
    } else if (unit == "h") {
      result = hours{*count};
    }
  }
  if (!result) {
    return caf::make_error(
      errc::invalid_config,
      fmt::format("invalid duration {:?}: expected a whole number followed by "
                  "ms, s, m or h (e.g. 500ms, 10s)",
                  text));
  }
  return *result;
}

caf::expected<log_level> parse_log_level(std::string_view text) {
  for (auto level :
       {log_level::trace, log_level::debug, log_level::info, log_level::warn,
        log_level::error, log_level::critical, log_level::off}) {
    if (to_string(level) == text) {
      return level;
    }
  }
  return caf::make_error(errc::invalid_config,
                         fmt::format("invalid log level {:?}", text));
}

std::string to_string(log_level level) {
  switch (level) {
    case log_level::trace:
      return "trace";
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
    case log_level::critical:
      return "critical";
    case log_level::off:
      return "off";
  }
  return "info";
}

std::string node_config::full_name() const {
  return name + "@" + host;
}

endpoint node_config::advertised() const {
  auto ep = advertise ? *advertise : listen;
  if (ep.host == "0.0.0.0" || ep.host == "::") {
    ep.host = host;
  }
  if (ep.port == 0) {
    ep.port = listen.port;
  }
  return ep;
}

const std::vector<setting_info>& settings() {
  static const std::vector<setting_info> infos = [] {
    std::vector<setting_info> out;
    for (const auto& s : setting_table()) {
      out.push_back(s.info);
    }
    return out;
  }();
  return infos;
}

std::map<std::string, std::string> troupe_environment(char** envp) {
  std::map<std::string, std::string> out;
  for (auto** entry = envp; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text = *entry;
    auto eq = text.find('=');
    if (text.rfind("TROUPE_", 0) == 0 && eq != std::string_view::npos) {
      out.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
  }
  return out;
}

namespace {

// Checks the program's own settings and keeps their values in `cfg`.
caf::error apply_custom(const std::vector<custom_setting>& custom,
                        const layers& merged, node_config& cfg) {
  for (const auto& c : custom) {
    auto i = merged.find(c.key);
    if (i == merged.end()) {
      cfg.custom.set(c.key, c.default_values);
      continue;
    }
    const auto& values = i->second.values;
    if ((!c.is_list && values.size() != 1) || (c.valid && !c.valid(values))) {
      return config_error(fmt::format(
        "config: {} = {:?} (from {}): expected {}", c.key, join_values(values),
        i->second.origin, c.expected.empty() ? "a single value" : c.expected));
    }
    cfg.custom.set(c.key, values);
  }
  return {};
}

} // namespace

caf::expected<node_config> load_config(const config_input& input) {
  if (auto err = check_custom_settings(input.custom)) {
    return err;
  }
  layers merged;
  auto file = input.file;
  if (!file) {
    if (auto i = input.environment.find("TROUPE_CONFIG");
        i != input.environment.end() && !i->second.empty()) {
      file = i->second;
    }
  }
  if (file) {
    if (auto err = read_file_layer(*file, input.custom, merged)) {
      return err;
    }
  }
  if (auto err = read_env_layer(input.environment, input.custom, merged)) {
    return err;
  }
  if (auto err = read_flag_layer(input.flags, input.custom, merged)) {
    return err;
  }
  node_config cfg;
  bool data_dir_given = false;
  for (const auto& s : setting_table()) {
    auto i = merged.find(s.info.key);
    if (i == merged.end()) {
      continue;
    }
    if (auto expected = s.apply(cfg, i->second.values)) {
      return config_error(fmt::format(
        "config: {} = {:?} (from {}): expected {}", s.info.key,
        join_values(i->second.values), i->second.origin, *expected));
    }
    data_dir_given = data_dir_given || s.info.key == "node.data_dir";
  }
  if (!data_dir_given) {
    cfg.data_dir = std::filesystem::path{"data"} / cfg.name;
  }
  if (auto err = apply_custom(input.custom, merged, cfg)) {
    return err;
  }
  return cfg;
}

} // namespace troupe::runtime

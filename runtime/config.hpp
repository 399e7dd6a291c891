// Node configuration: defaults, TOML file, TROUPE_* environment, flags.
//
// Precedence, lowest to highest: built-in defaults, the TOML file (from
// `--config` or TROUPE_CONFIG), TROUPE_* environment variables, command-line
// flags. Every value is validated before anything starts; the first bad one
// yields an `errc::invalid_config` error whose text is one line naming the
// key, the value given, where it came from and what was expected.
#pragma once

#include "custom_settings.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::runtime {

/// A TCP address, `host:port`.
struct endpoint {
  std::string host;
  std::uint16_t port = 0;

  friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// Parses `host:port` (an IPv6 host in brackets: `[::1]:4370`).
caf::expected<endpoint> parse_endpoint(std::string_view text);

/// Renders `host:port`.
std::string to_string(const endpoint& ep);

/// Parses a duration such as `250ms`, `10s`, `5m` or `1h`.
caf::expected<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Log levels, as spdlog names them.
enum class log_level { trace, debug, info, warn, error, critical, off };

/// Parses `trace`, `debug`, `info`, `warn`, `error`, `critical` or `off`.
caf::expected<log_level> parse_log_level(std::string_view text);

/// Returns the level's name.
std::string to_string(log_level level);

/// CAF's two scheduling policies.
enum class scheduler_policy { stealing, sharing };

/// Everything a node needs to know before it starts.
/// What a side of a split cluster may do (see `cluster/quorum.hpp`).
struct split_brain_policy {
  enum class strategy {
    /// A side with more than half of the members (exactly half: the half
    /// with the lowest address) keeps acting as the cluster.
    keep_majority,
    /// A side that reaches at least `quorum_size` members keeps acting.
    static_quorum,
    /// Every side acts (downs the others, activates every name):
    /// availability over consistency.
    serve_all,
    /// The side with the oldest member (the one up the longest) keeps
    /// acting, unless the oldest is alone and the other side has more than
    /// one member: then that side goes on instead.
    keep_oldest,
  };
  strategy kind = strategy::keep_majority;
  /// For `static_quorum`: the members a side needs, counting itself.
  std::uint32_t quorum_size = 0;

  friend bool operator==(const split_brain_policy&, const split_brain_policy&)
    = default;
};

/// `keep_majority`, `static_quorum:<n>`, `serve_all`, `keep_oldest`.
std::string to_string(const split_brain_policy& p);

/// What protects a cluster connection's frames once its handshake is over
/// (see `cluster/session.hpp`).
enum class transport_security {
  /// Every frame encrypted and authenticated; peers that offer less are
  /// refused.
  encrypt,
  /// Every frame authenticated, not encrypted (trusted networks); peers
  /// that offer less are refused.
  authenticate,
  /// Encrypted with peers that offer it, unprotected after the handshake
  /// with the others (builds without session security, nodes set to
  /// `none`): for a rolling upgrade to a build that has it.
  upgrade,
  /// Only the handshake proves the peer; frames after it carry no
  /// protection (trusted networks, measurements).
  none,
};

/// `encrypt`, `authenticate`, `upgrade`, `none`.
std::string to_string(transport_security s);

/// How a node takes part in its cluster.
struct cluster_config {
  /// Nodes of different clusters refuse each other.
  std::string name = "troupe";
  /// The shared secret's file; empty: `cluster.secret` beside the data
  /// directory (created, mode 0600, if missing), so nodes whose data
  /// directories share a parent share a secret.
  std::filesystem::path secret_file{};
  std::chrono::milliseconds gossip_interval{1000};
  std::chrono::milliseconds heartbeat_interval{200};
  /// Heartbeat silence tolerated before suspicion grows (phi accrual).
  std::chrono::milliseconds acceptable_pause{500};
  double phi_threshold = 8.0;
  /// Unreachable members are marked down after this long; nullopt: only by
  /// an operator.
  std::optional<std::chrono::milliseconds> down_after{
    std::chrono::milliseconds{5000}};
  /// Which side of a partition keeps downing members and activating names.
  split_brain_policy split_brain{};
  /// Largest frame accepted from a peer.
  std::uint64_t max_frame_bytes = 4 * 1024 * 1024;
  /// A connection whose peer has not proved itself within this time is
  /// closed.
  std::chrono::milliseconds handshake_timeout{5000};
  /// Accepted connections still in their handshake at once; more are
  /// closed as they come.
  std::uint32_t max_pending_connections = 64;
  /// What protects frames after the handshake.
  transport_security security = transport_security::encrypt;
  /// Partitions of a new cluster's ring (a power of two up to 16,384);
  /// fixed once the cluster has a ring.
  std::uint32_t ring_size = 64;
  /// Consecutive partitions kept on distinct nodes, and the length of
  /// preference lists.
  std::uint32_t target_n = 3;
  /// Partitions one node hands off at once.
  std::uint32_t handoff_concurrency = 2;
  /// A transfer not acknowledged within this time is sent again.
  std::chrono::milliseconds handoff_timeout{10000};
  /// Virtual actors idle this long are passivated (their state kept);
  /// nullopt: never.
  std::optional<std::chrono::milliseconds> passivate_after{
    std::chrono::milliseconds{600000}};
};

/// How a node can be observed and operated from outside.
struct observe_config {
  /// Console over TCP (a token from the data directory is required);
  /// nullopt: only the Unix socket in the data directory.
  std::optional<endpoint> console_tcp{};
  /// HTTP endpoint for `/metrics`, `/status` and `/healthz`; nullopt: off.
  std::optional<endpoint> http{};
};

struct node_config {
  /// Short node name, the part before `@` (e.g. `n1`).
  std::string name = "n1";
  /// Host part of the node name (e.g. `127.0.0.1`).
  std::string host = "127.0.0.1";
  /// Address the cluster transport listens on; port 0 picks a free port.
  endpoint listen{.host = "127.0.0.1", .port = 4370};
  /// Address other nodes dial to reach this one, when it differs from
  /// `listen` (a wildcard listen address, NAT, a container); port 0 means
  /// the listen port. nullopt: see `advertised()`.
  std::optional<endpoint> advertise{};
  /// Where the node keeps its identity, logs and state.
  std::filesystem::path data_dir = "data/n1";
  /// Initial level of every logger.
  log_level level = log_level::info;
  /// Size at which the log file rotates.
  std::uint64_t log_max_file_bytes = 10 * 1024 * 1024;
  /// How many rotated log files are kept.
  std::uint32_t log_max_files = 5;
  /// Seed nodes to join through (any member will do).
  std::vector<endpoint> join{};
  /// Scheduler worker threads; 0 lets CAF choose.
  std::uint32_t scheduler_threads = 0;
  /// CAF's scheduling policy: work stealing (the best throughput between
  /// actors) or work sharing (faster calls from threads that are not
  /// actors, e.g. a blocking `caller`, at some cost between actors).
  scheduler_policy policy = scheduler_policy::stealing;
  cluster_config cluster{};
  observe_config observe{};
  /// The values of the program's own settings (`config_input::custom`).
  custom_values custom{};

  /// Returns `name@host`.
  std::string full_name() const;

  /// The address other nodes dial: `advertise` if set, else `listen`; a
  /// wildcard host (`0.0.0.0`, `::`) is replaced by the node name's host.
  /// Port 0 (in `advertise`, or a `listen` port the OS picks) stays 0 until
  /// the listener is bound.
  endpoint advertised() const;
};

/// Where a value came from, lowest precedence first.
enum class config_source { defaults, file, environment, flag };

/// One documented setting, for help texts and error messages.
struct setting_info {
  std::string_view key;      ///< e.g. `node.listen`
  std::string_view env;      ///< e.g. `TROUPE_NODE_LISTEN`
  std::string_view flag;     ///< e.g. `--listen`, or empty
  std::string_view expected; ///< what a valid value looks like
  bool is_list;              ///< accepts several values
};

/// Returns every setting the configuration understands.
const std::vector<setting_info>& settings();

/// The raw inputs to `load_config`, gathered by the program's `main`.
struct config_input {
  /// Path of the TOML file, if any was named.
  std::optional<std::filesystem::path> file;
  /// The process environment (only `TROUPE_*` entries are read).
  std::map<std::string, std::string> environment;
  /// Values given on the command line, keyed by setting key.
  std::map<std::string, std::vector<std::string>> flags;
  /// The program's own settings, read and checked beside Troupe's.
  std::vector<custom_setting> custom{};
};

/// Collects the `TROUPE_*` variables of the given `environ`-style array.
std::map<std::string, std::string> troupe_environment(char** envp);

/// Layers and validates all inputs into a node configuration.
caf::expected<node_config> load_config(const config_input& input);

} // namespace troupe::runtime

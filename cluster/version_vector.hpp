// Version vectors: logical versions of the gossiped cluster state.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace troupe::cluster {

/// How two versions relate.
enum class causal_order { same, before, after, concurrent };

std::string to_string(causal_order x);

/// A version vector: one counter per node that changed the state. A node
/// bumps its own entry for every change it makes; merging takes the
/// pointwise maximum.
class version_vector {
public:
  using entries_type = std::map<std::string, std::uint64_t>;

  version_vector() = default;
  explicit version_vector(entries_type entries)
    : entries_(std::move(entries)) {}

  /// Adds one to `node`'s counter.
  void bump(const std::string& node);

  /// Raises `node`'s counter to at least `floor`.
  void raise(const std::string& node, std::uint64_t floor);

  /// `node`'s counter (0 if it never changed anything).
  std::uint64_t get(const std::string& node) const;

  /// How `*this` relates to `other`.
  causal_order compare(const version_vector& other) const;

  /// The pointwise maximum.
  void merge(const version_vector& other);

  const entries_type& entries() const {
    return entries_;
  }

  friend bool operator==(const version_vector&, const version_vector&)
    = default;

private:
  entries_type entries_;
};

std::string to_string(const version_vector& v);

} // namespace troupe::cluster

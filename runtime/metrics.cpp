// Metrics registry: counters, gauges and duration histograms.
#include "metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace troupe::runtime {

namespace {

bool valid_metric_name(std::string_view name) {
  auto head = [](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
  };
  auto tail = [&head](char c) {
    return head(c) || std::isdigit(static_cast<unsigned char>(c));
  };
  return !name.empty() && head(name.front())
         && std::all_of(name.begin() + 1, name.end(), tail);
}

std::string escape_label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_labels(const metric_labels& labels,
                          std::string_view extra_key = {},
                          std::string_view extra_value = {}) {
  if (labels.empty() && extra_key.empty()) {
    return {};
  }
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    out += fmt::format("{}{}=\"{}\"", first ? "" : ",", k,
                       escape_label_value(v));
    first = false;
  }
  if (!extra_key.empty()) {
    out += fmt::format("{}{}=\"{}\"", first ? "" : ",", extra_key, extra_value);
  }
  out += "}";
  return out;
}

} // namespace

void duration_histogram::observe(std::chrono::nanoseconds d) noexcept {
  auto ns = d.count();
  auto it = std::lower_bound(bounds_ns.begin(), bounds_ns.end(), ns);
  auto index = static_cast<size_t>(it - bounds_ns.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

std::array<std::uint64_t, duration_histogram::bounds_ns.size() + 1>
duration_histogram::bucket_counts() const {
  std::array<std::uint64_t, bounds_ns.size() + 1> out{};
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = buckets_[i].load(std::memory_order_relaxed);
  }
  return out;
}

std::uint64_t duration_histogram::count() const noexcept {
  std::uint64_t total = 0;
  for (const auto& b : buckets_) {
    total += b.load(std::memory_order_relaxed);
  }
  return total;
}

metrics_registry::series&
metrics_registry::find_or_add(std::string_view name, std::string_view help,
                              kind type, metric_labels labels) {
  if (!valid_metric_name(name)) {
    throw std::logic_error(fmt::format("invalid metric name {:?}", name));
  }
  for (const auto& [key, value] : labels) {
    if (!valid_metric_name(key) || key.find(':') != std::string::npos) {
      throw std::logic_error(fmt::format("invalid label name {:?}", key));
    }
  }
  std::lock_guard guard{mtx_};
  auto fam = std::find_if(families_.begin(), families_.end(),
                          [&name](const family& f) { return f.name == name; });
  if (fam == families_.end()) {
    families_.push_back(family{.name = std::string{name},
                               .help = std::string{help},
                               .type = type,
                               .members = {}});
    fam = std::prev(families_.end());
  } else if (fam->type != type) {
    throw std::logic_error(
      fmt::format("metric {} registered as two different kinds", name));
  }
  for (auto& s : fam->members) {
    if (s.labels == labels) {
      return s;
    }
  }
  series s{
    .labels = std::move(labels), .c = nullptr, .g = nullptr, .h = nullptr};
  switch (type) {
    case kind::counter:
      s.c = std::make_unique<counter>();
      break;
    case kind::gauge:
      s.g = std::make_unique<gauge>();
      break;
    case kind::histogram:
      s.h = std::make_unique<duration_histogram>();
      break;
  }
  fam->members.push_back(std::move(s));
  return fam->members.back();
}

counter& metrics_registry::add_counter(std::string_view name,
                                       std::string_view help,
                                       metric_labels labels) {
  return *find_or_add(name, help, kind::counter, std::move(labels)).c;
}

gauge& metrics_registry::add_gauge(std::string_view name, std::string_view help,
                                   metric_labels labels) {
  return *find_or_add(name, help, kind::gauge, std::move(labels)).g;
}

duration_histogram& metrics_registry::add_histogram(std::string_view name,
                                                    std::string_view help,
                                                    metric_labels labels) {
  return *find_or_add(name, help, kind::histogram, std::move(labels)).h;
}

std::string metrics_registry::render_prometheus() const {
  std::lock_guard guard{mtx_};
  std::string out;
  for (const auto& fam : families_) {
    std::string_view type_text;
    switch (fam.type) {
      case kind::counter:
        type_text = "counter";
        break;
      case kind::gauge:
        type_text = "gauge";
        break;
      case kind::histogram:
        type_text = "histogram";
        break;
    }
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", fam.name,
                       escape_help(fam.help), fam.name, type_text);
    for (const auto& s : fam.members) {
      switch (fam.type) {
        case kind::counter:
          out += fmt::format("{}{} {}\n", fam.name, render_labels(s.labels),
                             s.c->value());
          break;
        case kind::gauge:
          out += fmt::format("{}{} {}\n", fam.name, render_labels(s.labels),
                             s.g->value());
          break;
        case kind::histogram: {
          auto counts = s.h->bucket_counts();
          std::uint64_t cumulative = 0;
          for (size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            auto le
              = i < duration_histogram::bounds_ns.size() ? fmt::format(
                  "{:g}",
                  static_cast<double>(duration_histogram::bounds_ns[i]) / 1e9)
                                                         : std::string{"+Inf"};
            out += fmt::format("{}_bucket{} {}\n", fam.name,
                               render_labels(s.labels, "le", le), cumulative);
          }
          out += fmt::format("{}_sum{} {:g}\n", fam.name,
                             render_labels(s.labels),
                             static_cast<double>(s.h->sum().count()) / 1e9);
          out += fmt::format("{}_count{} {}\n", fam.name,
                             render_labels(s.labels), cumulative);
          break;
        }
      }
    }
  }
  return out;
}

} // namespace troupe::runtime

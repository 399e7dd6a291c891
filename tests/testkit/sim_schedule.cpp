// Fault schedules for the simulated world.
#include "troupe/testkit/sim_schedule.hpp"

#include "troupe/runtime/errors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace troupe::testkit::sim {

namespace {

using namespace std::chrono_literals;

std::string format_time(sim_time t) {
  auto ns = t.count();
  if (ns != 0 && ns % (60'000'000'000LL) == 0) {
    return fmt::format("{}min", ns / 60'000'000'000LL);
  }
  if (ns % 1'000'000'000LL == 0) {
    return fmt::format("{}s", ns / 1'000'000'000LL);
  }
  if (ns % 1'000'000LL == 0) {
    return fmt::format("{}ms", ns / 1'000'000LL);
  }
  if (ns % 1'000LL == 0) {
    return fmt::format("{}us", ns / 1'000LL);
  }
  return fmt::format("{}ns", ns);
}

caf::error bad(std::string_view item, std::string_view what) {
  return caf::make_error(runtime::errc::invalid_config,
                         fmt::format("fault schedule: \"{}\": expected {}",
                                     item, what));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto i = s.find(sep);
    out.push_back(trim(s.substr(0, i)));
    if (i == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(i + 1);
  }
}

std::optional<std::size_t> parse_index(std::string_view s) {
  std::size_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

std::optional<sim_time> parse_time(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p == s.data() || v < 0) {
    return std::nullopt;
  }
  std::string_view unit{p, static_cast<std::size_t>(s.data() + s.size() - p)};
  static const std::map<std::string_view, std::int64_t> units{
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"min", 60'000'000'000LL}};
  auto u = units.find(unit);
  if (u == units.end()) {
    return std::nullopt;
  }
  return sim_time{v * u->second};
}

std::optional<std::pair<std::size_t, std::size_t>>
parse_pair(std::string_view s, char sep) {
  auto parts = split(s, sep);
  if (parts.size() != 2) {
    return std::nullopt;
  }
  auto a = parse_index(parts[0]);
  auto b = parse_index(parts[1]);
  if (!a || !b) {
    return std::nullopt;
  }
  return std::make_pair(*a, *b);
}

const std::map<std::string_view, fault_kind>& kinds_by_name() {
  static const std::map<std::string_view, fault_kind> m{
    {"crash", fault_kind::crash},         {"tear", fault_kind::tear},
    {"stop", fault_kind::stop},           {"freeze", fault_kind::freeze},
    {"partition", fault_kind::partition}, {"cut", fault_kind::cut},
    {"reset", fault_kind::reset},         {"slow", fault_kind::slow},
    {"leave", fault_kind::leave},         {"drain", fault_kind::drain}};
  return m;
}

caf::expected<fault> parse_fault(std::string_view item) {
  auto open = item.find('(');
  auto close = item.find(')');
  if (open == std::string_view::npos || close == std::string_view::npos
      || close < open) {
    return bad(item, "kind(arguments)@time[+length]");
  }
  auto name = trim(item.substr(0, open));
  auto k = kinds_by_name().find(name);
  if (k == kinds_by_name().end()) {
    return bad(item, "a kind of fault: crash, tear, stop, freeze, partition, "
                     "cut, reset, slow, leave or drain");
  }
  fault f;
  f.kind = k->second;
  auto args = trim(item.substr(open + 1, close - open - 1));
  auto when = trim(item.substr(close + 1));
  if (when.empty() || when.front() != '@') {
    return bad(item, "@time after the arguments");
  }
  when.remove_prefix(1);
  auto plus = when.find('+');
  auto at = parse_time(trim(when.substr(0, plus)));
  if (!at) {
    return bad(item, "a time such as 2s or 150ms after @");
  }
  f.at = *at;
  if (plus != std::string_view::npos) {
    auto len = parse_time(trim(when.substr(plus + 1)));
    if (!len) {
      return bad(item, "a length such as 3s after +");
    }
    f.length = *len;
  }
  switch (f.kind) {
    case fault_kind::crash:
    case fault_kind::tear:
    case fault_kind::stop:
    case fault_kind::freeze:
    case fault_kind::leave:
    case fault_kind::drain: {
      auto n = parse_index(args);
      if (!n) {
        return bad(item, "one node number");
      }
      f.nodes = {*n};
      break;
    }
    case fault_kind::partition: {
      for (auto g : split(args, '|')) {
        std::vector<std::size_t> group;
        for (auto n : split(g, ',')) {
          auto i = parse_index(n);
          if (!i) {
            return bad(item, "groups of node numbers: 0,1|2,3,4");
          }
          group.push_back(*i);
        }
        f.groups.push_back(std::move(group));
      }
      break;
    }
    case fault_kind::cut:
    case fault_kind::reset: {
      bool one_way = f.kind == fault_kind::cut;
      auto p = parse_pair(args, one_way ? '>' : '-');
      if (!p) {
        return bad(item, one_way ? "from>to" : "a-b");
      }
      f.nodes = {p->first, p->second};
      break;
    }
    case fault_kind::slow: {
      auto parts = split(args, ',');
      auto p = parts.size() == 2 ? parse_pair(parts[0], '-') : std::nullopt;
      auto extra = parts.size() == 2 ? parse_time(parts[1]) : std::nullopt;
      if (!p || !extra) {
        return bad(item, "a-b,extra latency");
      }
      f.nodes = {p->first, p->second};
      f.extra = *extra;
      break;
    }
  }
  return f;
}

std::string format_args(const fault& f) {
  switch (f.kind) {
    case fault_kind::crash:
    case fault_kind::tear:
    case fault_kind::stop:
    case fault_kind::freeze:
    case fault_kind::leave:
    case fault_kind::drain:
      return fmt::format("{}", f.nodes.at(0));
    case fault_kind::partition: {
      std::vector<std::string> groups;
      for (const auto& g : f.groups) {
        groups.push_back(fmt::format("{}", fmt::join(g, ",")));
      }
      return fmt::format("{}", fmt::join(groups, "|"));
    }
    case fault_kind::cut:
      return fmt::format("{}>{}", f.nodes.at(0), f.nodes.at(1));
    case fault_kind::reset:
      return fmt::format("{}-{}", f.nodes.at(0), f.nodes.at(1));
    case fault_kind::slow:
      return fmt::format("{}-{},{}", f.nodes.at(0), f.nodes.at(1),
                         format_time(f.extra));
  }
  return {};
}

// Whether the kind takes a node away while it lasts.
bool takes_node_down(fault_kind k) {
  return k == fault_kind::crash || k == fault_kind::tear
         || k == fault_kind::stop || k == fault_kind::freeze
         || k == fault_kind::leave;
}

sim_time round_ms(sim_time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t);
}

void sort_schedule(fault_schedule& s) {
  std::stable_sort(s.faults.begin(), s.faults.end(),
                   [](const fault& a, const fault& b) { return a.at < b.at; });
}

} // namespace

sim_time fault_schedule::end() const {
  sim_time out{0};
  for (const auto& f : faults) {
    out = std::max(out, f.at + f.length);
  }
  return out;
}

std::string to_string(fault_kind k) {
  for (const auto& [name, kind] : kinds_by_name()) {
    if (kind == k) {
      return std::string{name};
    }
  }
  return "fault_kind(?)";
}

std::string to_string(const fault_schedule& s) {
  std::string out;
  for (const auto& f : s.faults) {
    if (!out.empty()) {
      out += ';';
    }
    out += fmt::format("{}({})@{}", to_string(f.kind), format_args(f),
                       format_time(f.at));
    if (f.length.count() > 0) {
      out += "+" + format_time(f.length);
    }
  }
  return out;
}

caf::expected<fault_schedule> parse_schedule(std::string_view text) {
  fault_schedule s;
  text = trim(text);
  if (text.empty()) {
    return s;
  }
  for (auto item : split(text, ';')) {
    if (item.empty()) {
      continue;
    }
    auto f = parse_fault(item);
    if (!f) {
      return std::move(f.error());
    }
    s.faults.push_back(std::move(*f));
  }
  sort_schedule(s);
  return s;
}

caf::error validate(const fault_schedule& s, std::size_t nodes) {
  for (const auto& f : s.faults) {
    auto item = fmt::format("{}({})", to_string(f.kind), format_args(f));
    std::set<std::size_t> seen;
    for (auto n : f.nodes) {
      if (n >= nodes) {
        return bad(item, fmt::format("node numbers below {}", nodes));
      }
    }
    if (f.nodes.size() == 2 && f.nodes[0] == f.nodes[1]) {
      return bad(item, "two different nodes");
    }
    if (f.kind == fault_kind::partition) {
      if (f.groups.size() < 2) {
        return bad(item, "at least two groups");
      }
      for (const auto& g : f.groups) {
        for (auto n : g) {
          if (n >= nodes || !seen.insert(n).second) {
            return bad(item,
                       fmt::format("distinct node numbers below {}", nodes));
          }
        }
      }
    }
    if ((f.kind == fault_kind::freeze || f.kind == fault_kind::cut
         || f.kind == fault_kind::partition || f.kind == fault_kind::slow)
        && f.length.count() == 0) {
      return bad(item, "a length (+time): it must end");
    }
  }
  return {};
}

fault_schedule random_schedule(std::mt19937_64& rng,
                               const schedule_shape& shape) {
  fault_schedule s;
  if (shape.nodes < 2 || shape.kinds.empty()) {
    return s;
  }
  auto max_down = shape.max_down != 0 ? shape.max_down : (shape.nodes - 1) / 2;
  auto ms = [](sim_time t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
  };
  auto pick = [&rng](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>{lo,
                                                       std::max(lo, hi)}(rng);
  };
  auto node = [&] {
    return static_cast<std::size_t>(
      pick(0, static_cast<std::int64_t>(shape.nodes) - 1));
  };
  auto other = [&](std::size_t a) {
    auto b = static_cast<std::size_t>(
      pick(0, static_cast<std::int64_t>(shape.nodes) - 2));
    return b >= a ? b + 1 : b;
  };
  // Down intervals so far, to keep a majority up and each node down once
  // at a time.
  std::vector<std::tuple<std::size_t, sim_time, sim_time>> down;
  auto fits = [&](std::size_t n, sim_time from, sim_time to) {
    std::vector<sim_time> points{from};
    for (const auto& [m, a, b] : down) {
      if (m == n && a < to && from < b) {
        return false;
      }
      if (a > from && a < to) {
        points.push_back(a);
      }
    }
    for (auto t : points) {
      std::size_t count = 1;
      for (const auto& [m, a, b] : down) {
        count += a <= t && t < b ? 1 : 0;
      }
      if (count > max_down) {
        return false;
      }
    }
    return true;
  };
  for (std::size_t i = 0; i < shape.faults; ++i) {
    fault f;
    f.kind = shape.kinds[static_cast<std::size_t>(
      pick(0, static_cast<std::int64_t>(shape.kinds.size()) - 1))];
    f.at = std::chrono::milliseconds{pick(0, ms(shape.horizon))};
    f.length = std::chrono::milliseconds{
      pick(std::max<std::int64_t>(1, ms(shape.max_length) / 10),
           ms(shape.max_length))};
    switch (f.kind) {
      case fault_kind::crash:
      case fault_kind::tear:
      case fault_kind::stop:
      case fault_kind::freeze:
      case fault_kind::leave:
      case fault_kind::drain:
        f.nodes = {node()};
        break;
      case fault_kind::partition: {
        std::vector<std::size_t> all(shape.nodes);
        for (std::size_t n = 0; n < shape.nodes; ++n) {
          all[n] = n;
        }
        std::shuffle(all.begin(), all.end(), rng);
        auto cut = static_cast<std::size_t>(
          pick(1, static_cast<std::int64_t>(shape.nodes) - 1));
        std::vector<std::size_t> a{all.begin(), all.begin() + cut};
        std::vector<std::size_t> b{all.begin() + cut, all.end()};
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        f.groups = {a, b};
        break;
      }
      case fault_kind::cut:
      case fault_kind::slow: {
        auto a = node();
        f.nodes = {a, other(a)};
        if (f.kind == fault_kind::slow) {
          f.extra = std::chrono::milliseconds{pick(1, 500)};
        }
        break;
      }
      case fault_kind::reset: {
        auto a = node();
        f.nodes = {a, other(a)};
        f.length = sim_time{0};
        break;
      }
    }
    if (takes_node_down(f.kind)) {
      if (!fits(f.nodes[0], f.at, f.at + f.length)) {
        continue; // it would take too much of the cluster down
      }
      down.emplace_back(f.nodes[0], f.at, f.at + f.length);
    }
    s.faults.push_back(std::move(f));
  }
  sort_schedule(s);
  return s;
}

std::vector<fault_schedule> shrink_candidates(const fault_schedule& s) {
  std::vector<fault_schedule> out;
  const auto& fs = s.faults;
  auto n = fs.size();
  if (n >= 4) {
    out.push_back(
      {{fs.begin() + static_cast<std::ptrdiff_t>(n / 2), fs.end()}});
    out.push_back(
      {{fs.begin(), fs.begin() + static_cast<std::ptrdiff_t>(n / 2)}});
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto c = s;
    c.faults.erase(c.faults.begin() + static_cast<std::ptrdiff_t>(i));
    out.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (fs[i].kind == fault_kind::partition && fs[i].groups.size() > 2) {
      for (std::size_t g = 0; g + 1 < fs[i].groups.size(); ++g) {
        auto c = s;
        auto& groups = c.faults[i].groups;
        groups[g].insert(groups[g].end(), groups[g + 1].begin(),
                         groups[g + 1].end());
        std::sort(groups[g].begin(), groups[g].end());
        groups.erase(groups.begin() + static_cast<std::ptrdiff_t>(g + 1));
        out.push_back(std::move(c));
      }
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto half = round_ms(fs[i].length / 2);
    if (fs[i].length > 1ms && half >= 1ms) {
      auto c = s;
      c.faults[i].length = half;
      out.push_back(std::move(c));
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto half = round_ms(fs[i].at / 2);
    if (fs[i].at > 0ms && half < fs[i].at) {
      auto c = s;
      c.faults[i].at = half;
      sort_schedule(c);
      out.push_back(std::move(c));
    }
  }
  return out;
}

} // namespace troupe::testkit::sim

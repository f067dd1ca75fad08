#include "common/metrics.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace pactum {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double seconds) {
  const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), seconds);
  counts_[static_cast<size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e6),
                        std::memory_order_relaxed);
}

double Histogram::Sum() const {
  return static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
}

MetricsRegistry::Entry* MetricsRegistry::FindLocked(const std::string& name,
                                                    const std::string& labels) {
  for (auto& e : entries_) {
    if (e.name == name && e.labels == labels) return &e;
  }
  return nullptr;
}

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const std::string& labels) {
  std::lock_guard lock(mu_);
  if (auto* e = FindLocked(name, labels); e != nullptr && e->counter != nullptr) {
    return *e->counter;
  }
  auto& c = counters_.emplace_back();
  entries_.push_back({name, help, labels, Kind::kCounter, {}, &c, nullptr, nullptr});
  return c;
}

Gauge& MetricsRegistry::GetGauge(const std::string& name, const std::string& help,
                                 const std::string& labels) {
  std::lock_guard lock(mu_);
  if (auto* e = FindLocked(name, labels); e != nullptr && e->gauge != nullptr) return *e->gauge;
  auto& g = gauges_.emplace_back();
  entries_.push_back({name, help, labels, Kind::kGauge, {}, nullptr, &g, nullptr});
  return g;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const std::string& labels, std::vector<double> buckets) {
  std::lock_guard lock(mu_);
  if (auto* e = FindLocked(name, labels); e != nullptr && e->histogram != nullptr) {
    return *e->histogram;
  }
  auto& h = histograms_.emplace_back(std::move(buckets));
  entries_.push_back({name, help, labels, Kind::kHistogram, {}, nullptr, nullptr, &h});
  return h;
}

void MetricsRegistry::SetInfo(const std::string& name, const std::string& help,
                              const std::string& key_labels, const std::string& value_labels) {
  std::lock_guard lock(mu_);
  if (auto* e = FindLocked(name, key_labels); e != nullptr && e->kind == Kind::kInfo) {
    e->info_labels = value_labels;
    return;
  }
  entries_.push_back(
      {name, help, key_labels, Kind::kInfo, value_labels, nullptr, nullptr, nullptr});
}

std::string MetricsRegistry::EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string MetricsRegistry::Render() const {
  std::lock_guard lock(mu_);
  // Group series by metric name, in first-registration order.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Entry*>> by_name;
  for (const auto& e : entries_) {
    auto& v = by_name[e.name];
    if (v.empty()) order.push_back(e.name);
    v.push_back(&e);
  }
  std::string out;
  for (const auto& name : order) {
    const auto& series = by_name[name];
    const Entry& first = *series.front();
    const char* type = first.kind == Kind::kCounter     ? "counter"
                       : first.kind == Kind::kHistogram ? "histogram"
                                                        : "gauge";
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, first.help, name, type);
    for (const Entry* e : series) {
      const std::string braces = e->labels.empty() ? "" : "{" + e->labels + "}";
      if (e->kind == Kind::kCounter) {
        out += fmt::format("{}{} {}\n", name, braces, e->counter->Value());
      } else if (e->kind == Kind::kGauge) {
        out += fmt::format("{}{} {}\n", name, braces, e->gauge->Value());
      } else if (e->kind == Kind::kInfo) {
        std::string all = e->labels;
        if (!all.empty() && !e->info_labels.empty()) all += ',';
        all += e->info_labels;
        out += fmt::format("{}{} 1\n", name, all.empty() ? "" : "{" + all + "}");
      } else {
        const Histogram& h = *e->histogram;
        const std::string sep = e->labels.empty() ? "" : e->labels + ",";
        uint64_t cumulative = 0;
        for (size_t i = 0; i < h.bounds().size(); ++i) {
          cumulative += h.BucketCount(i);
          out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, sep, h.bounds()[i], cumulative);
        }
        cumulative += h.BucketCount(h.bounds().size());
        out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, sep, cumulative);
        out += fmt::format("{}_sum{} {}\n", name, braces, h.Sum());
        out += fmt::format("{}_count{} {}\n", name, braces, h.Count());
      }
    }
  }
  return out;
}

}  // namespace pactum

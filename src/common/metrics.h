#pragma once

// A tiny Prometheus-text metrics registry. Metrics are created once at start-up
// (Counter/Gauge/Histogram, optionally with fixed label values) and updated lock-free on
// hot paths with relaxed atomics; Render() walks them under the registry's mutex.
// Returned references stay valid for the registry's lifetime.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pactum {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Buckets in seconds; observations in seconds.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double seconds);
  const std::vector<double>& bounds() const { return bounds_; }
  uint64_t BucketCount(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // one per bound, non-cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// Latency buckets from 100 µs to 10 s.
std::vector<double> DefaultLatencyBuckets();

class MetricsRegistry {
 public:
  // `labels` is a rendered label set such as R"(route="/healthz",status="200")" or empty.
  Counter& GetCounter(const std::string& name, const std::string& help,
                      const std::string& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const std::string& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::string& labels = {},
                          std::vector<double> buckets = DefaultLatencyBuckets());

  // An info-style gauge of value 1 whose labels say something that changes (a job's last
  // error): the series `name{key_labels,value_labels}` replaces the one set before for
  // the same name and `key_labels`, so the registry holds one series per key.
  void SetInfo(const std::string& name, const std::string& help, const std::string& key_labels,
               const std::string& value_labels);

  // Prometheus text exposition format 0.0.4.
  std::string Render() const;

  // Escapes a label value per the exposition format.
  static std::string EscapeLabel(std::string_view value);

 private:
  enum class Kind { kCounter, kGauge, kHistogram, kInfo };
  struct Entry {
    std::string name, help, labels;
    Kind kind;
    std::string info_labels;  // kInfo: the replaceable labels after `labels`
    Counter* counter = nullptr;
    Gauge* gauge = nullptr;
    Histogram* histogram = nullptr;
  };
  Entry* FindLocked(const std::string& name, const std::string& labels);

  mutable std::mutex mu_;
  std::vector<Entry> entries_;        // GUARDED_BY(mu_)
  std::deque<Counter> counters_;      // GUARDED_BY(mu_); deque keeps addresses stable
  std::deque<Gauge> gauges_;          // GUARDED_BY(mu_)
  std::deque<Histogram> histograms_;  // GUARDED_BY(mu_)
};

}  // namespace pactum

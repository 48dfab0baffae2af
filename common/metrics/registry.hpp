#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace paynotify::metrics {

/// Label name/value pairs identifying one series of a metric family. Order does not matter
/// for identity (they are sorted on registration); names must match [a-zA-Z_][a-zA-Z0-9_]*,
/// values are arbitrary UTF-8 (escaped when rendered).
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing value (events, bytes). Thread-safe and lock-free.
class Counter {
 public:
  /// Adds `amount` (negative amounts are ignored: a counter never goes down).
  void Inc(double amount = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// A value that goes up and down (queue depth, connected flag). Thread-safe and lock-free.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Inc(double amount = 1.0);
  void Dec(double amount = 1.0) { Inc(-amount); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

/// Observations counted into fixed upper-bound buckets (latencies in seconds, batch sizes).
/// Thread-safe and lock-free; a concurrent Render() may see an observation in the count but
/// not yet in the sum (Prometheus tolerates this).
class Histogram {
 public:
  /// `bounds` are the bucket upper bounds; sorted and de-duplicated; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& Bounds() const { return bounds_; }
  /// Cumulative count of observations <= Bounds()[i] (i == Bounds().size() means +Inf).
  uint64_t CumulativeCount(size_t i) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative; last = +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0.0};
};

/// Default latency buckets in seconds (5 ms .. 10 s).
std::vector<double> DefaultLatencyBuckets();

/// Owns every metric of a process. Get* registers a series on first call and returns the
/// SAME object for the same name + labels afterwards; references stay valid for the
/// registry's lifetime, so callers look a series up once and keep the reference for the hot
/// path. Thread-safe (registration takes a mutex; updates are atomics).
/// Throws std::invalid_argument for an invalid metric or label name, or when a name is
/// re-registered as another type (or a histogram with other buckets).
/// Names are passed complete, with the paynotify_ prefix ("paynotify_relay_published_total").
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& GetCounter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, Labels labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> buckets, Labels labels = {});

  /// Every family in the Prometheus text exposition format 0.0.4: "# HELP", "# TYPE", then
  /// each series; families sorted by name, series by labels; histograms as cumulative
  /// _bucket{le="..."} lines including le="+Inf", then _sum and _count.
  std::string Render() const;

 private:
  struct Family;
  Family& FamilyFor(const std::string& name, const std::string& help, int type,
                    const std::vector<double>* buckets);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Family>> families_;
};

}  // namespace paynotify::metrics

#include "common/metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "common/text/utf8.hpp"

namespace paynotify::metrics {
namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2 };
constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};

bool ValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                       (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// Prometheus floats: Go syntax; "+Inf", "-Inf", "NaN" spelled exactly so.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// Prometheus text format escapes: backslash and newline everywhere, and the double quote
// too inside a label value (HELP text is not quoted).
// Ill-formed UTF-8 becomes U+FFFD: one bad byte in a label value would otherwise make
// Prometheus reject the whole scrape. Labels should come from fixed sets anyway; this is the
// last line of defence.
std::string Escape(const std::string& text, bool in_quotes) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const size_t length = text::WellFormedLength(text, i);
      if (length == 0) {
        out += "\xEF\xBF\xBD";
      } else {
        out.append(text, i, length);
        i += length - 1;
      }
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && in_quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// 'a="x",b="y"' without braces; `extra` (le="...") is appended last.
std::string RenderLabels(const Labels& labels, const std::string& extra = "") {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}=\"{}\"", name, Escape(value, /*in_quotes=*/true));
  }
  if (!extra.empty()) {
    if (!out.empty()) out += ',';
    out += extra;
  }
  return out.empty() ? out : "{" + out + "}";
}

void AtomicAdd(std::atomic<double>& target, double amount) {
  target.fetch_add(amount, std::memory_order_relaxed);
}

}  // namespace

void Counter::Inc(double amount) {
  if (!(amount > 0)) return;  // also drops NaN
  AtomicAdd(value_, amount);
}

void Gauge::Inc(double amount) { AtomicAdd(value_, amount); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  bounds_.erase(std::remove_if(bounds_.begin(), bounds_.end(),
                               [](double b) { return std::isnan(b) || std::isinf(b); }),
                bounds_.end());
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // Upper bounds are inclusive: an observation equal to a bound falls in that bucket.
  const size_t index = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_, value);
  count_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t Histogram::CumulativeCount(size_t i) const {
  uint64_t total = 0;
  for (size_t b = 0; b <= std::min(i, bounds_.size()); ++b) {
    total += buckets_[b].load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

struct Registry::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  std::vector<double> buckets;  // histograms only, as normalised by Histogram
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  std::map<std::string, Series> series;  // keyed by rendered (sorted) labels
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::FamilyFor(const std::string& name, const std::string& help,
                                      int type, const std::vector<double>* buckets) {
  if (!ValidName(name, true)) {
    throw std::invalid_argument(fmt::format("invalid metric name '{}'", name));
  }
  auto& slot = families_[name];
  if (!slot) {
    slot = std::make_unique<Family>();
    slot->name = name;
    slot->help = help;
    slot->type = type;
    if (buckets != nullptr) slot->buckets = Histogram(*buckets).Bounds();
    return *slot;
  }
  if (slot->type != type) {
    throw std::invalid_argument(fmt::format("metric '{}' is already registered as a {}", name,
                                            kTypeNames[slot->type]));
  }
  if (buckets != nullptr && Histogram(*buckets).Bounds() != slot->buckets) {
    throw std::invalid_argument(
        fmt::format("histogram '{}' is already registered with other buckets", name));
  }
  return *slot;
}

namespace {
Labels Normalise(Labels labels, bool histogram) {
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    const auto& label_name = labels[i].first;
    if (!ValidName(label_name, false) || label_name.starts_with("__") ||
        (histogram && label_name == "le")) {
      throw std::invalid_argument(fmt::format("invalid label name '{}'", label_name));
    }
    if (i > 0 && labels[i - 1].first == label_name) {
      throw std::invalid_argument(fmt::format("duplicate label name '{}'", label_name));
    }
  }
  return labels;
}
}  // namespace

Counter& Registry::GetCounter(const std::string& name, const std::string& help, Labels labels) {
  labels = Normalise(std::move(labels), false);
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(name, help, kCounter, nullptr);
  auto& series = family.series[RenderLabels(labels)];
  if (!series.counter) {
    series.labels = std::move(labels);
    series.counter = std::make_unique<Counter>();
  }
  return *series.counter;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, Labels labels) {
  labels = Normalise(std::move(labels), false);
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(name, help, kGauge, nullptr);
  auto& series = family.series[RenderLabels(labels)];
  if (!series.gauge) {
    series.labels = std::move(labels);
    series.gauge = std::make_unique<Gauge>();
  }
  return *series.gauge;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> buckets, Labels labels) {
  labels = Normalise(std::move(labels), true);
  std::lock_guard lock(mutex_);
  Family& family = FamilyFor(name, help, kHistogram, &buckets);
  auto& series = family.series[RenderLabels(labels)];
  if (!series.histogram) {
    series.labels = std::move(labels);
    series.histogram = std::make_unique<Histogram>(family.buckets);
  }
  return *series.histogram;
}

std::string Registry::Render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += fmt::format("# HELP {} {}\n", name, Escape(family->help, /*in_quotes=*/false));
    out += fmt::format("# TYPE {} {}\n", name, kTypeNames[family->type]);
    for (const auto& [key, series] : family->series) {
      if (series.counter) {
        out += fmt::format("{}{} {}\n", name, key, FormatValue(series.counter->Value()));
      } else if (series.gauge) {
        out += fmt::format("{}{} {}\n", name, key, FormatValue(series.gauge->Value()));
      } else if (series.histogram) {
        const Histogram& h = *series.histogram;
        const auto& bounds = h.Bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
          const std::string le = fmt::format(
              "le=\"{}\"", i < bounds.size() ? FormatValue(bounds[i]) : std::string("+Inf"));
          out += fmt::format("{}_bucket{} {}\n", name, RenderLabels(series.labels, le),
                             h.CumulativeCount(i));
        }
        out += fmt::format("{}_sum{} {}\n", name, key, FormatValue(h.Sum()));
        // _count is the +Inf bucket, so the two always agree within one scrape.
        out += fmt::format("{}_count{} {}\n", name, key, h.CumulativeCount(bounds.size()));
      }
    }
  }
  return out;
}

}  // namespace paynotify::metrics

#include "common/metrics/registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

namespace paynotify::metrics {
namespace {

TEST(RegistryTest, RendersCounterGaugeAndHistogramWithLabels) {
  Registry registry;
  registry.GetCounter("paynotify_published_total", "Messages published.", {{"outcome", "confirmed"}})
      .Inc(3);
  registry.GetCounter("paynotify_published_total", "Messages published.", {{"outcome", "nacked"}})
      .Inc();
  registry.GetGauge("paynotify_broker_connected", "1 when connected.").Set(1);
  auto& latency = registry.GetHistogram("paynotify_publish_seconds", "Publish latency.",
                                        {0.1, 0.5, 1}, {{"queue", "q1"}});
  latency.Observe(0.05);
  latency.Observe(0.1);
  latency.Observe(0.7);
  latency.Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP paynotify_broker_connected 1 when connected.\n"
            "# TYPE paynotify_broker_connected gauge\n"
            "paynotify_broker_connected 1\n"
            "# HELP paynotify_publish_seconds Publish latency.\n"
            "# TYPE paynotify_publish_seconds histogram\n"
            "paynotify_publish_seconds_bucket{queue=\"q1\",le=\"0.1\"} 2\n"
            "paynotify_publish_seconds_bucket{queue=\"q1\",le=\"0.5\"} 2\n"
            "paynotify_publish_seconds_bucket{queue=\"q1\",le=\"1\"} 3\n"
            "paynotify_publish_seconds_bucket{queue=\"q1\",le=\"+Inf\"} 4\n"
            "paynotify_publish_seconds_sum{queue=\"q1\"} 3.85\n"
            "paynotify_publish_seconds_count{queue=\"q1\"} 4\n"
            "# HELP paynotify_published_total Messages published.\n"
            "# TYPE paynotify_published_total counter\n"
            "paynotify_published_total{outcome=\"confirmed\"} 3\n"
            "paynotify_published_total{outcome=\"nacked\"} 1\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.GetCounter("paynotify_x_total", "Line one\nback\\slash", {{"path", "a\"b\\c\nd"}}).Inc();
  EXPECT_EQ(registry.Render(),
            "# HELP paynotify_x_total Line one\\nback\\\\slash\n"
            "# TYPE paynotify_x_total counter\n"
            "paynotify_x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

// One ill-formed byte in a label value would make Prometheus reject the whole page.
TEST(RegistryTest, IllFormedUtf8InALabelValueRendersAsReplacementCharacter) {
  Registry registry;
  registry.GetCounter("paynotify_x_total", "X.", {{"path", "/a\xFF\xFE" "b\xC3\xA9"}}).Inc();
  const std::string page = registry.Render();
  EXPECT_NE(page.find("paynotify_x_total{path=\"/a\xEF\xBF\xBD\xEF\xBF\xBD" "b\xC3\xA9\"} 1\n"),
            std::string::npos)
      << page;
}

TEST(RegistryTest, UnlabelledHistogramAndFractionalValues) {
  Registry registry;
  auto& h = registry.GetHistogram("paynotify_batch_size", "Batch size.", {10, 1});
  h.Observe(1);
  auto& g = registry.GetGauge("paynotify_ratio", "Ratio.");
  g.Set(0.25);
  g.Inc(1);
  g.Dec(0.5);
  EXPECT_EQ(registry.Render(),
            "# HELP paynotify_batch_size Batch size.\n"
            "# TYPE paynotify_batch_size histogram\n"
            "paynotify_batch_size_bucket{le=\"1\"} 1\n"
            "paynotify_batch_size_bucket{le=\"10\"} 1\n"
            "paynotify_batch_size_bucket{le=\"+Inf\"} 1\n"
            "paynotify_batch_size_sum 1\n"
            "paynotify_batch_size_count 1\n"
            "# HELP paynotify_ratio Ratio.\n"
            "# TYPE paynotify_ratio gauge\n"
            "paynotify_ratio 0.75\n");
}

TEST(RegistryTest, SameNameAndLabelsGiveTheSameObjectInAnyLabelOrder) {
  Registry registry;
  Counter& a = registry.GetCounter("paynotify_c_total", "C.", {{"a", "1"}, {"b", "2"}});
  Counter& b = registry.GetCounter("paynotify_c_total", "C.", {{"b", "2"}, {"a", "1"}});
  Counter& other = registry.GetCounter("paynotify_c_total", "C.", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.Inc();
  EXPECT_EQ(b.Value(), 1);
  // Registering more series does not move existing ones.
  for (int i = 0; i < 100; ++i) {
    registry.GetCounter("paynotify_c_total", "C.", {{"a", std::to_string(i)}});
  }
  EXPECT_EQ(&registry.GetCounter("paynotify_c_total", "C.", {{"a", "1"}, {"b", "2"}}), &a);
}

TEST(RegistryTest, RejectsBadNamesAndTypeConflicts) {
  Registry registry;
  registry.GetCounter("paynotify_a_total", "A.");
  EXPECT_THROW(registry.GetGauge("paynotify_a_total", "A."), std::invalid_argument);
  EXPECT_THROW(registry.GetCounter("9bad", "x"), std::invalid_argument);
  EXPECT_THROW(registry.GetCounter("paynotify_b", "x", {{"bad-label", "v"}}), std::invalid_argument);
  EXPECT_THROW(registry.GetHistogram("paynotify_h", "x", {1}, {{"le", "1"}}), std::invalid_argument);
  registry.GetHistogram("paynotify_h2", "x", {1, 2});
  EXPECT_THROW(registry.GetHistogram("paynotify_h2", "x", {1, 3}), std::invalid_argument);
  EXPECT_NO_THROW(registry.GetHistogram("paynotify_h2", "x", {2, 1}, {{"k", "v"}}));
}

TEST(RegistryTest, CounterIgnoresNegativeIncrements) {
  Counter c;
  c.Inc(2);
  c.Inc(-5);
  EXPECT_EQ(c.Value(), 2);
}

TEST(RegistryTest, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&registry] {
      auto& counter = registry.GetCounter("paynotify_n_total", "N.");
      auto& hist = registry.GetHistogram("paynotify_h", "H.", {0.5});
      for (int i = 0; i < 10000; ++i) {
        counter.Inc();
        hist.Observe(1);
        if (i % 1000 == 0) (void)registry.Render();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(registry.GetCounter("paynotify_n_total", "N.").Value(), 40000);
  EXPECT_EQ(registry.GetHistogram("paynotify_h", "H.", {0.5}).Count(), 40000u);
  EXPECT_EQ(registry.GetHistogram("paynotify_h", "H.", {0.5}).Sum(), 40000);
}

}  // namespace
}  // namespace paynotify::metrics

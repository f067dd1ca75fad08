#include "common/metrics.h"

#include <gtest/gtest.h>

namespace pactum {
namespace {

TEST(Metrics, RendersPrometheusTextWithCumulativeBuckets) {
  MetricsRegistry r;
  r.GetCounter("req_total", "Requests", R"(route="/a")").Add(3);
  r.GetCounter("req_total", "Requests", R"(route="/b")").Add();
  r.GetGauge("open", "Open").Set(7);
  auto& h = r.GetHistogram("lat_seconds", "Latency", "", {0.1, 1.0});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  const std::string text = r.Render();
  EXPECT_NE(
      text.find("# TYPE req_total counter\nreq_total{route=\"/a\"} 3\nreq_total{route=\"/b\"} 1\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("open 7\n"), std::string::npos);
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("lat_seconds_count 3\n"), std::string::npos) << text;
}

TEST(Metrics, SameNameAndLabelsGiveTheSameSeries) {
  MetricsRegistry r;
  EXPECT_EQ(&r.GetCounter("x", "X", "a=\"1\""), &r.GetCounter("x", "X", "a=\"1\""));
  EXPECT_NE(&r.GetCounter("x", "X", "a=\"1\""), &r.GetCounter("x", "X", "a=\"2\""));
}

TEST(Metrics, AnInfoSeriesIsReplacedNotAddedTo) {
  MetricsRegistry r;
  r.SetInfo("last_error_info", "Last error", "job=\"a\"", "error=\"disk full\"");
  r.SetInfo("last_error_info", "Last error", "job=\"b\"", "error=\"\"");
  r.SetInfo("last_error_info", "Last error", "job=\"a\"", "error=\"\"");
  const std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE last_error_info gauge\n"
                      "last_error_info{job=\"a\",error=\"\"} 1\n"
                      "last_error_info{job=\"b\",error=\"\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("disk full"), std::string::npos) << "the old value is gone: " << text;
}

TEST(Metrics, EscapesLabelValues) {
  EXPECT_EQ(MetricsRegistry::EscapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace pactum

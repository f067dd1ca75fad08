#include "audit/request_recorder.h"

#include <thread>

#include <gtest/gtest.h>

#include "common/log.h"
#include "store/sqlite_database.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fault_database.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_keys.h"

namespace pactum::audit {
namespace {

class RequestRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::SqliteOptions o;
    o.path = dir_.File("p.db");
    o.key = testing_support::RandomKey();
    db_ = std::move(store::OpenSqliteDatabase(o)).value();
    faulty_ = std::make_unique<testing_support::FaultDatabase>(*db_);
    log_ = std::make_unique<SqlAuditLog>(*faulty_, clock_, crypto::SecretBytes(32));
  }

  static Event Request(int i) {
    Event e;
    e.stream = Stream::kRequest;
    e.action = "http.request";
    e.target = "/api/v1/me";
    e.details = {{"n", i}};
    return e;
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<testing_support::FaultDatabase> faulty_;
  std::unique_ptr<SqlAuditLog> log_;
};

TEST_F(RequestRecorderTest, WritesQueuedEventsInOrder) {
  RequestRecorder recorder(*log_, {.max_batch = 7}, nullptr);
  for (int i = 0; i < 50; ++i) recorder.Add(Request(i));
  ASSERT_TRUE(recorder.Flush().ok());
  auto events = log_->ReadChain(0, 0, 100).value();
  ASSERT_EQ(events.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(events[i].details, "{\"n\":" + std::to_string(i) + "}");
}

TEST_F(RequestRecorderTest, TheWriterThreadFlushesWithoutBeingAsked) {
  RequestRecorder recorder(*log_, {.interval = std::chrono::milliseconds(10)}, nullptr);
  recorder.Add(Request(1));
  for (int i = 0; i < 500 && log_->Head(0)->seq == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(log_->Head(0)->seq, 1);
}

TEST_F(RequestRecorderTest, AFailedBatchRefusesNewRequestsAndIsRetried) {
  MetricsRegistry metrics;
  RequestRecorder recorder(*log_, {.interval = std::chrono::hours(1)}, &metrics);
  EXPECT_TRUE(recorder.Admit().ok());
  recorder.Add(Request(1));
  faulty_->fail_writes = true;
  const Status s = recorder.Flush();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  const Status admit = recorder.Admit();
  EXPECT_EQ(admit.code(), StatusCode::kUnavailable);
  EXPECT_EQ(admit.reason(), "audit_unavailable");
  recorder.Add(Request(2));
  faulty_->fail_writes = false;
  ASSERT_TRUE(recorder.Flush().ok());
  EXPECT_TRUE(recorder.Admit().ok());
  auto events = log_->ReadChain(0, 0, 10).value();  // nothing lost, in order
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].details, R"({"n":1})");
  EXPECT_EQ(events[1].details, R"({"n":2})");
}

TEST_F(RequestRecorderTest, AFailedBatchStaysAheadOfNewerEventsAndNoneIsLost) {
  RequestRecorder recorder(*log_, {.max_batch = 7, .interval = std::chrono::hours(1)}, nullptr);
  for (int i = 0; i < 20; ++i) recorder.Add(Request(i));
  faulty_->fail_writes = true;
  EXPECT_EQ(recorder.Flush().code(), StatusCode::kUnavailable);
  EXPECT_EQ(recorder.Admit().code(), StatusCode::kUnavailable);
  for (int i = 20; i < 25; ++i) recorder.Add(Request(i));
  EXPECT_EQ(recorder.Flush().code(), StatusCode::kUnavailable);
  faulty_->fail_writes = false;
  ASSERT_TRUE(recorder.Flush().ok());
  EXPECT_TRUE(recorder.Admit().ok());
  auto events = log_->ReadChain(0, 0, 100).value();
  ASSERT_EQ(events.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(events[i].details, "{\"n\":" + std::to_string(i) + "}");
}

// A full batch that fails is retried once per interval, not at once: the writer thread
// used to retry it in a loop that held the lock between attempts, so Flush (and every
// Add) waited forever while the error log filled.
TEST_F(RequestRecorderTest, AFailingFullBatchIsRetriedOncePerIntervalNotInALoop) {
  faulty_->fail_writes = true;
  faulty_->write_calls = 0;
  testing::internal::CaptureStderr();
  RequestRecorder recorder(*log_, {.max_batch = 7, .interval = std::chrono::hours(1)}, nullptr);
  for (int i = 0; i < 20; ++i) recorder.Add(Request(i));  // a full batch wakes the writer
  // Until the writer's failed attempt has been taken in (Admit refuses from then on).
  for (int i = 0; i < 500 && recorder.Admit().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(recorder.Admit().code(), StatusCode::kUnavailable);
  ASSERT_EQ(faulty_->write_calls, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(faulty_->write_calls, 1) << "the writer retried without waiting for the interval";
  EXPECT_EQ(recorder.Flush().code(), StatusCode::kUnavailable);  // the caller is not starved
  EXPECT_EQ(faulty_->write_calls, 2);
  // One error line for the outage, with its cause; not one per attempt.
  log::Flush();
  const std::string logged = testing::internal::GetCapturedStderr();
  size_t lines = 0;
  for (size_t at = logged.find("\"level\":\"error\""); at != std::string::npos;
       at = logged.find("\"level\":\"error\"", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1U) << logged;
  EXPECT_NE(logged.find("injected fault"), std::string::npos) << logged;
  faulty_->fail_writes = false;
  ASSERT_TRUE(recorder.Flush().ok());
  EXPECT_EQ(log_->Head(0)->seq, 20);
  EXPECT_TRUE(recorder.Admit().ok());
}

TEST_F(RequestRecorderTest, AFullQueueRefusesAndCountsWhatItDrops) {
  MetricsRegistry metrics;
  faulty_->fail_writes = true;
  RequestRecorder recorder(*log_, {.interval = std::chrono::hours(1), .max_queued = 3}, &metrics);
  for (int i = 0; i < 5; ++i) recorder.Add(Request(i));
  EXPECT_EQ(recorder.Admit().code(), StatusCode::kUnavailable);
  EXPECT_EQ(metrics.GetCounter("pactum_audit_dropped_events_total", "").Value(), 2u);
  faulty_->fail_writes = false;
  ASSERT_TRUE(recorder.Flush().ok());
  EXPECT_EQ(log_->Head(0)->seq, 3);
}

}  // namespace
}  // namespace pactum::audit

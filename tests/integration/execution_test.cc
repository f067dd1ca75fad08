// Where handlers run: CPU-bound handlers (password hashing) have a pool of their own, so
// while every one of its threads is busy, worker and inline routes still answer.

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/https_client.h"
#include "tests/support/test_server.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

// Holds handlers inside until the test opens it, and records which threads ran them.
// Thread-safe.
class Gate {
 public:
  // In a handler: counts the entry, then blocks until Open().
  void Enter() {
    std::unique_lock lock(mu_);
    ++inside_;
    threads_.insert(std::this_thread::get_id());
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  // True once `n` handlers are inside at the same time. The wait is bounded only so that
  // a broken server fails the test instead of hanging it.
  bool WaitInside(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return inside_ >= n; });
  }
  void Open() {
    const std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  size_t inside() {
    const std::lock_guard lock(mu_);
    return inside_;
  }
  std::set<std::thread::id> threads() {
    const std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t inside_ = 0;                  // GUARDED_BY(mu_); entries so far
  bool open_ = false;                  // GUARDED_BY(mu_)
  std::set<std::thread::id> threads_;  // GUARDED_BY(mu_)
};

class ExecutionTest : public ::testing::Test {
 protected:
  void StartServer(int64_t cpu_threads, int64_t max_cpu_queue = 256) {
    srv_.config.server.cpu_threads = cpu_threads;
    srv_.config.limits.max_cpu_queue = max_cpu_queue;
    srv_.config.server.worker_threads = 1;
    srv_.router.Add(http::Method::kPost, "/hash",
                    [this](http::Request&) {
                      gate_.Enter();
                      return http::Response::Json(200, {{"hashed", true}});
                    },
                    {.execution = http::Execution::kCpuBound});
    srv_.router.Add(http::Method::kGet, "/worker", [this](http::Request&) {
      const std::lock_guard lock(mu_);
      worker_threads_.insert(std::this_thread::get_id());
      return http::Response::Json(200, {{"worker", true}});
    });
    srv_.router.Add(http::Method::kGet, "/inline",
                    [](http::Request&) {
                      return http::Response::Json(200, {{"inline", true}});
                    },
                    {.execution = http::Execution::kInline});
    srv_.Start();
  }
  void TearDown() override {
    gate_.Open();  // never leave a handler blocked, even when an assertion failed
    for (auto& t : clients_) t.join();
  }

  // Sends POST /hash from a thread of its own; the status lands in statuses_.
  void StartHash() {
    clients_.emplace_back([this] {
      HttpRequest r;
      r.method = "POST";
      r.url = srv_.Url("/hash");
      r.headers = {"Content-Type: application/json"};
      r.body = "{}";
      r.ca_file = srv_.ca_file;
      const long status = Perform(r).status;
      const std::lock_guard lock(mu_);
      statuses_.push_back(status);
    });
  }
  long Get(const std::string& path) {
    HttpRequest r;
    r.url = srv_.Url(path);
    r.ca_file = srv_.ca_file;
    return Perform(r).status;
  }
  void FinishHashes() {
    gate_.Open();
    for (auto& t : clients_) t.join();
    clients_.clear();
  }

  TestServer srv_;
  Gate gate_;
  std::vector<std::thread> clients_;
  std::mutex mu_;
  std::vector<long> statuses_;                // GUARDED_BY(mu_)
  std::set<std::thread::id> worker_threads_;  // GUARDED_BY(mu_)
};

TEST_F(ExecutionTest, WorkerAndInlineRoutesAnswerWhileEveryCpuThreadIsBusy) {
  StartServer(2);
  ASSERT_EQ(srv_.server->cpu_threads(), 2U);
  // Both CPU threads blocked in a handler, and a third request waiting for one of them.
  for (int i = 0; i < 3; ++i) StartHash();
  ASSERT_TRUE(gate_.WaitInside(2));
  // The one worker thread and the I/O threads are free: both answer.
  EXPECT_EQ(Get("/worker"), 200);
  EXPECT_EQ(Get("/inline"), 200);
  EXPECT_EQ(Get("/worker"), 200);
  // The pool is bounded: the third hash is still waiting for a CPU thread.
  EXPECT_EQ(gate_.inside(), 2U);

  FinishHashes();
  EXPECT_EQ(statuses_, (std::vector<long>{200, 200, 200}));
  EXPECT_EQ(gate_.inside(), 3U);
  // Three hashes ran on the two CPU threads, none of which is the worker.
  const auto cpu = gate_.threads();
  EXPECT_EQ(cpu.size(), 2U);
  ASSERT_EQ(worker_threads_.size(), 1U);
  EXPECT_EQ(cpu.count(*worker_threads_.begin()), 0U);
}

TEST_F(ExecutionTest, BeyondTheCpuQueueLimitRequestsGetAQuick503) {
  StartServer(1, 2);
  Gauge& queue = srv_.metrics.GetGauge("pactum_http_cpu_queue", "");
  // One hash running, one waiting: the queue is full.
  StartHash();
  StartHash();
  ASSERT_TRUE(gate_.WaitInside(1));
  for (int i = 0; i < 6000 && queue.Value() < 2; ++i) {  // bounded wait for the second
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(queue.Value(), 2);
  HttpRequest r;
  r.method = "POST";
  r.url = srv_.Url("/hash");
  r.headers = {"Content-Type: application/json"};
  r.body = "{}";
  r.ca_file = srv_.ca_file;
  const HttpResponse busy = Perform(r);
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(nlohmann::json::parse(busy.body)["error"]["code"], "busy");
  EXPECT_EQ(busy.headers.at("retry-after"), "1");
  EXPECT_EQ(Get("/worker"), 200) << "other routes are not affected";
  FinishHashes();
  EXPECT_EQ(statuses_, (std::vector<long>{200, 200}));
  EXPECT_EQ(queue.Value(), 0) << "every admitted request was counted out";
  // Room again.
  StartHash();
  ASSERT_TRUE(gate_.WaitInside(3));
  FinishHashes();
  EXPECT_EQ(statuses_.back(), 200);
}

class CpuPoolSizeTest : public ExecutionTest, public ::testing::WithParamInterface<int64_t> {};

TEST_P(CpuPoolSizeTest, FollowsServerCpuThreads) {
  const auto n = static_cast<size_t>(GetParam());
  StartServer(GetParam());
  EXPECT_EQ(srv_.server->cpu_threads(), n);
  // n handlers can be inside at once (at least n threads) ...
  for (size_t i = 0; i <= n; ++i) StartHash();
  ASSERT_TRUE(gate_.WaitInside(n));
  EXPECT_EQ(Get("/worker"), 200);
  FinishHashes();
  // ... and n + 1 requests ran on exactly n threads (at most n).
  EXPECT_EQ(gate_.inside(), n + 1);
  EXPECT_EQ(gate_.threads().size(), n);
}

INSTANTIATE_TEST_SUITE_P(Sizes, CpuPoolSizeTest, ::testing::Values(1, 3));

TEST_F(ExecutionTest, CpuPoolDefaultsToHalfTheCoresAndAtLeastOne) {
  StartServer(0);
  EXPECT_EQ(srv_.server->cpu_threads(), std::max(1U, std::thread::hardware_concurrency() / 2));
}

}  // namespace
}  // namespace pactum

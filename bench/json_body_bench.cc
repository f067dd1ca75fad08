// Parse cost of a typical request body (a 1 KiB contract create with tags and custom
// values): nlohmann's DOM parser without exceptions, as the server parsed bodies before,
// against the strict SAX parse (common/json_parse.h) that replaced it, in the same run.
// Also times refusing the hostile bodies the strict parse exists for (a million-digit
// number, a half-megabyte body that repeats a key). Median of five rounds of this thread's
// CPU time (not wall time: the machine is shared); one core.

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_parse.h"

namespace {

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string TypicalBody() {
  nlohmann::json body = {
      {"title", "Office lease, Herengracht 500, Amsterdam (second floor and basement)"},
      {"counterparty", "Vastgoed Beheer Amsterdam B.V."},
      {"type", "lease"},
      {"status", "active"},
      {"start_date", "2026-01-01"},
      {"end_date", "2030-12-31"},
      {"auto_renew", true},
      {"renewal_months", 12},
      {"notice_days", 180},
      {"value_cents", 4800000},
      {"currency", "EUR"},
      {"tags", {"real-estate", "amsterdam", "facilities", "long-term", "indexed"}},
      {"custom",
       {{"po_number", "PO-2026-000123"},
        {"cost_center", "FAC-AMS-01"},
        {"deposit", {{"amount_cents", 1200000}, {"currency", "EUR"}}},
        {"review_on", "2028-06-30"},
        {"notes",
         "Rent indexed yearly on 1 January (CPI, all households). Landlord "
         "maintains the facade and the roof; tenant the interior. Parking: 4 "
         "spaces in the garage under the building, included."}}}};
  std::string text = body.dump();
  // Padded to 1 KiB with spaces before the closing brace (the keys come out sorted, so
  // what precedes it is whichever value is last).
  if (text.size() < 1024) text.insert(text.size() - 1, 1024 - text.size(), ' ');
  return text;
}

template <typename F>
double MedianNsPerCall(int calls, F&& f) {
  std::vector<double> rounds;
  for (int r = 0; r < 5; ++r) {
    const double start = CpuSeconds();
    for (int i = 0; i < calls; ++i) f();
    rounds.push_back((CpuSeconds() - start) * 1e9 / calls);
  }
  std::sort(rounds.begin(), rounds.end());
  return rounds[2];
}

}  // namespace

int main() {
  const std::string body = TypicalBody();
  size_t sink = 0;
  const int calls = 50'000;
  const double before =
      MedianNsPerCall(calls, [&] { sink += nlohmann::json::parse(body, nullptr, false).size(); });
  const double after =
      MedianNsPerCall(calls, [&] { sink += pactum::ParseStrictJson(body)->size(); });
  std::printf("typical body: %zu bytes\n", body.size());
  std::printf("  nlohmann::json::parse (no exceptions):  %8.0f ns\n", before);
  std::printf("  ParseStrictJson (SAX, strict):           %8.0f ns  (%.2fx)\n", after,
              after / before);
  const std::string digits = "{\"x\":" + std::string(1'000'000, '7') + "}";
  const double digits_ns =
      MedianNsPerCall(3, [&] { sink += pactum::ParseStrictJson(digits).ok(); });
  std::printf("  refusing a 1,000,000-digit number:       %8.2f ms\n", digits_ns / 1e6);
  std::string dup = "{";
  for (int i = 0; i < 50'000; ++i) dup += "\"k" + std::to_string(i % 25'000) + "\":1,";
  dup += "\"end\":0}";
  const double dup_ns = MedianNsPerCall(3, [&] { sink += pactum::ParseStrictJson(dup).ok(); });
  std::printf("  refusing %zu bytes with a duplicate key:  %8.2f ms\n", dup.size(), dup_ns / 1e6);
  return sink == 42 ? 1 : 0;
}

#include "audit/event_codec.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <openssl/evp.h>

#include "common/big_endian.h"

namespace pactum::audit {
namespace {

void PutString(std::string& out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out += s;
}

}  // namespace

void CanonicalBytes(const StoredEvent& e, std::string& out) {
  out.clear();
  out += "pactum-audit-v1";
  AppendU64Be(out, static_cast<uint64_t>(e.tenant_id));
  AppendU64Be(out, static_cast<uint64_t>(e.time_ms));
  for (const std::string* s :
       {&e.stream, &e.actor, &e.ip, &e.action, &e.target, &e.outcome, &e.details}) {
    PutString(out, *s);
  }
}

Hash ChainHash(const Hash& prev, std::string_view bytes) {
  // One context per thread, reused: verification hashes a million events a second. The
  // digest is fetched once: EVP_sha256() would look the implementation up on every init.
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    ~Ctx() {
      EVP_MD_free(sha256);
      EVP_MD_CTX_free(ctx);
    }
  };
  thread_local const Ctx t;
  Hash out{};
  unsigned int len = 0;
  if (t.ctx == nullptr || t.sha256 == nullptr ||
      EVP_DigestInit_ex2(t.ctx, t.sha256, nullptr) != 1 ||
      EVP_DigestUpdate(t.ctx, prev.data(), prev.size()) != 1 ||
      EVP_DigestUpdate(t.ctx, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(t.ctx, out.data(), &len) != 1) {
    std::abort();  // out of memory in OpenSSL: no hash can be trusted
  }
  return out;
}

std::string FormatTimeMs(int64_t time_ms) {
  const int64_t ms = ((time_ms % 1000) + 1000) % 1000;
  const std::time_t secs = (time_ms - ms) / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms));
  return std::string(buf, n) + frac;
}

std::optional<int64_t> ParseTimeMs(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM)
  const auto digits = [&](size_t at, size_t n, int& out) {
    if (at + n > text.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (text.size() < 20 || !digits(0, 4, year) || text[4] != '-' || !digits(5, 2, month) ||
      text[7] != '-' || !digits(8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !digits(11, 2, hour) || text[13] != ':' || !digits(14, 2, minute) || text[16] != ':' ||
      !digits(17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t i = 19;
  int64_t ms = 0;
  if (i < text.size() && text[i] == '.') {
    size_t n = 0;
    for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++n) {
      if (n < 3) ms = ms * 10 + (text[i] - '0');
    }
    if (n == 0) return std::nullopt;
    for (; n < 3; ++n) ms *= 10;
  }
  int64_t offset_minutes = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    int oh = 0;
    int om = 0;
    if (!digits(i + 1, 2, oh) || i + 3 >= text.size() || text[i + 3] != ':' ||
        !digits(i + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (text[i] == '+' ? 1 : -1) * (int64_t{oh} * 60 + om);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  if (tm.tm_mday != day) return std::nullopt;  // 2026-02-30 and the like
  return (static_cast<int64_t>(t) - offset_minutes * 60) * 1000 + ms;
}

}  // namespace pactum::audit

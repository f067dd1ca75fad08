#include "audit/event_codec.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <openssl/evp.h>

namespace pactum::audit {
namespace {

void PutU64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

void PutString(std::string& out, std::string_view s) {
  const auto n = static_cast<uint32_t>(s.size());
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
  out += s;
}

}  // namespace

void CanonicalBytes(const StoredEvent& e, std::string& out) {
  out.clear();
  out += "pactum-audit-v1";
  PutU64(out, static_cast<uint64_t>(e.tenant_id));
  PutU64(out, static_cast<uint64_t>(e.time_ms));
  for (const std::string* s :
       {&e.stream, &e.actor, &e.ip, &e.action, &e.target, &e.outcome, &e.details}) {
    PutString(out, *s);
  }
}

Hash ChainHash(const Hash& prev, std::string_view bytes) {
  // One context per thread, reused: verification hashes a million events a second.
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local const Ctx t;
  Hash out{};
  unsigned int len = 0;
  if (t.ctx == nullptr || EVP_DigestInit_ex2(t.ctx, EVP_sha256(), nullptr) != 1 ||
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

}  // namespace pactum::audit

#pragma once

// What the hash chain covers. Each event's canonical bytes are its tenant, time and
// fields, each length-prefixed (so no two different events share an encoding):
//
//   "pactum-audit-v1" u64 tenant  i64 time_ms  str stream  str actor  str ip  str action
//   str target  str outcome  str details        (integers big-endian; str = u32 length + bytes)
//
// and hash = SHA-256(prev_hash || canonical bytes), with 32 zero bytes before the first
// event of a chain. The sequence number is not hashed: the chain itself orders events,
// which lets verification tell an event moved out of place (intact, wrong predecessor)
// from one that was changed (its own hash no longer matches).

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pactum::audit {

using Hash = std::array<uint8_t, 32>;

// One stored event, as its row holds it.
struct StoredEvent {
  int64_t tenant_id = 0;
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string stream;
  std::string actor;
  std::string ip;
  std::string action;
  std::string target;
  std::string outcome;  // "success" | "failure"
  std::string details;  // a JSON object, serialized once when the event was written
  Hash prev_hash{};
  Hash hash{};
};

// Appends the canonical bytes of `e` to `out` (cleared first).
void CanonicalBytes(const StoredEvent& e, std::string& out);

// SHA-256(prev || bytes).
Hash ChainHash(const Hash& prev, std::string_view bytes);

// RFC 3339 UTC with milliseconds: "2026-11-27T06:32:18.123Z".
std::string FormatTimeMs(int64_t time_ms);

// Milliseconds since the epoch of an RFC 3339 time ("2026-11-27T06:32:18Z", fractions and
// offsets such as "+02:00" allowed); nullopt for anything else.
std::optional<int64_t> ParseTimeMs(std::string_view text);

}  // namespace pactum::audit

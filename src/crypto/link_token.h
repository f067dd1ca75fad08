#pragma once

// Signed download links (DESIGN §3): /files/<token>, where the token carries what it
// grants and an HMAC-SHA256 over it. Stateless: nothing is stored per link, so a link
// cannot be revoked one by one; it lapses at `expires_at` (at most an hour after it was
// made), and the document, the user and (when bound) the session are checked again at
// every use.
//
// Token: base64url (no padding) of 85 bytes
//   format 1 (1) | tenant id (8) | document id (8) | user id (8) | tenant key version (4) |
//   expires_at, unix seconds (8) | binding (16) | HMAC-SHA256 of the 53 bytes before (32)
// The HMAC key is HKDF-SHA256(tenant data key of `key_version`, "pactum-link-v1"):
// per tenant, rotated with the tenant's keys, gone when the tenant is crypto-erased.
// `binding` ties a link to the credential it was made with (kept as a keyed hash, so the
// link reveals nothing of it); all zero for an unbound link. Thread-safe.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "crypto/secret.h"

namespace pactum::crypto {

inline constexpr size_t kLinkTokenChars = 114;

struct LinkClaims {
  int64_t tenant_id = 0;
  int64_t document_id = 0;
  int64_t user_id = 0;
  uint32_t key_version = 0;
  int64_t expires_at = 0;
  std::array<uint8_t, 16> binding{};  // all zero: not bound

  bool bound() const;
};

// The link key of a tenant data key.
Result<SecretBytes> LinkKey(std::span<const uint8_t> tenant_key);

// The binding of a credential ("session:<raw hash>", "token:<id>") under a link key.
std::array<uint8_t, 16> LinkBinding(std::span<const uint8_t> link_key, std::string_view credential);

std::string SignLink(std::span<const uint8_t> link_key, const LinkClaims& claims);

// Reads the claims without checking the signature (to find the tenant and key version to
// check it with). kInvalidArgument for anything but a well-formed token of format 1 in
// the one spelling SignLink gives (exact base64url: no "+", "/", "=", "%" or spare bits).
// A token taken from a request must be the raw, not percent-decoded, spelling
// (http::Request::RawPath), or "%2D" would pass as "-".
Result<LinkClaims> ParseLink(std::string_view token);

// Whether the token's HMAC is right under `link_key` (constant-time comparison).
bool LinkSignatureValid(std::span<const uint8_t> link_key, std::string_view token);

}  // namespace pactum::crypto

#pragma once

// Self-signed TLS material for a server that starts with no certificate configured.

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace pactum::crypto {

struct PemPair {
  std::string certificate_pem;
  std::string private_key_pem;  // secret: write 0600, never log
};

// An ECDSA P-256 key and a self-signed X.509 v3 certificate for `dns_names` and
// `ip_addresses` (subjectAltName), valid from now for `validity`.
Result<PemPair> GenerateSelfSigned(const std::vector<std::string>& dns_names,
                                   const std::vector<std::string>& ip_addresses,
                                   std::chrono::hours validity);

// SHA-256 fingerprint of the first certificate in `pem`, as lower-case hex.
Result<std::string> CertificateFingerprint(const std::string& pem);

}  // namespace pactum::crypto

#pragma once

// TLS policy for the HTTPS listener, in one place: TLS 1.2 and 1.3 only, ECDHE with AEAD
// suites only (AES-GCM, ChaCha20-Poly1305), server cipher preference, no compression, no
// renegotiation, no session tickets across restarts (tickets keys are per process).

#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "common/status.h"

namespace pactum::http {

using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// Loads a PEM certificate chain and private key and builds a server context with the
// policy above. kInvalidArgument (naming the file, never its content) when they do not
// load or do not match.
Result<SslCtxPtr> MakeServerTlsContext(const std::string& cert_file, const std::string& key_file);

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  bool generated = false;  // true when this call created a self-signed pair
};

// With no configured files: <data_dir>/tls/cert.pem and key.pem, creating a self-signed
// pair (key 0600) on first use. With configured files: those, as given.
Result<TlsFiles> ResolveTlsFiles(const std::string& data_dir, const std::string& cert_file,
                                 const std::string& key_file);

}  // namespace pactum::http

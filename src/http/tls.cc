#include "http/tls.h"

#include <sys/stat.h>

#include <openssl/err.h>

#include "common/files.h"
#include "crypto/self_signed.h"

namespace pactum::http {
namespace {

constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

Result<SslCtxPtr> MakeServerTlsContext(const std::string& cert_file, const std::string& key_file) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) return Internal("SSL_CTX_new: " + OpenSslError());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                             SSL_OP_NO_SSLv3);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(c, kTls13Suites) != 1) {
    return Internal("setting cipher suites: " + OpenSslError());
  }
  if (SSL_CTX_set1_groups_list(c, "X25519:P-256:P-384") != 1) {
    return Internal("setting groups: " + OpenSslError());
  }
  if (SSL_CTX_use_certificate_chain_file(c, cert_file.c_str()) != 1) {
    return Status(StatusCode::kInvalidArgument, "cannot load TLS certificate " + cert_file,
                  OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(c, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Status(StatusCode::kInvalidArgument, "cannot load TLS private key " + key_file,
                  OpenSslError());
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return InvalidArgument("TLS private key " + key_file + " does not match certificate " +
                           cert_file);
  }
  return ctx;
}

Result<TlsFiles> ResolveTlsFiles(const std::string& data_dir, const std::string& cert_file,
                                 const std::string& key_file) {
  if (!cert_file.empty()) return TlsFiles{cert_file, key_file, false};
  const std::string dir = data_dir + "/tls";
  TlsFiles files{dir + "/cert.pem", dir + "/key.pem", false};
  if (Exists(files.cert_file) && Exists(files.key_file)) return files;
  RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  ASSIGN_OR_RETURN(auto pair, crypto::GenerateSelfSigned({"localhost"}, {"127.0.0.1", "::1"},
                                                         std::chrono::hours(24 * 397)));
  RETURN_IF_ERROR(WriteFileAtomic(files.key_file, pair.private_key_pem, 0600));
  RETURN_IF_ERROR(WriteFileAtomic(files.cert_file, pair.certificate_pem, 0644));
  files.generated = true;
  return files;
}

}  // namespace pactum::http

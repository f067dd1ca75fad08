#pragma once

// A deliberately low-level TLS client for tests: it sends exactly the bytes it is given
// (malformed request lines, oversized headers, slow drips) and reads what comes back.
// Blocking sockets with a receive timeout. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <string>

#include <openssl/ssl.h>

namespace pactum::testing_support {

struct TlsClientOptions {
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  std::string cipher_list;                  // TLS 1.2 ciphers, empty: OpenSSL default
  std::chrono::milliseconds timeout{5000};  // per read
};

class TlsClient {
 public:
  TlsClient() = default;
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  // TCP connect + TLS handshake. False when either fails.
  bool Connect(uint16_t port, const TlsClientOptions& options = {});
  bool Send(std::string_view bytes);
  // Reads one HTTP response (head + Content-Length body, or until close). Empty when the
  // connection was closed or timed out before a status line.
  std::string ReadResponse();
  // Reads until the peer closes or the timeout passes; true when closed.
  bool WaitClosed(std::chrono::milliseconds limit);
  // Sends a request and reads its response.
  std::string RoundTrip(std::string_view request) {
    return Send(request) ? ReadResponse() : std::string();
  }
  SSL* ssl() const { return ssl_; }
  // SHA-256 of the server's certificate, hex.
  std::string PeerFingerprint() const;
  void Close();

 private:
  int ReadSome(char* buf, int n);
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string pending_;
};

// "HTTP/1.1 413 ..." -> 413; 0 when unparsable.
int StatusOf(const std::string& response);
// Value of header `name` (case-insensitive) in a raw response, or "".
std::string HeaderOf(const std::string& response, const std::string& name);
// The body after the blank line.
std::string BodyOf(const std::string& response);

}  // namespace pactum::testing_support

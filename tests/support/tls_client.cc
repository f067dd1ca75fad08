#include "tests/support/tls_client.h"

#include "common/hex.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <csignal>

#include <openssl/err.h>
#include <openssl/x509.h>

namespace pactum::testing_support {

TlsClient::~TlsClient() { Close(); }

void TlsClient::Close() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  if (fd_ >= 0) ::close(fd_);
  ssl_ = nullptr;
  ctx_ = nullptr;
  fd_ = -1;
}

bool TlsClient::Connect(uint16_t port, const TlsClientOptions& options) {
  // Writes to a socket the server closed must fail with EPIPE, not kill the test process.
  std::signal(SIGPIPE, SIG_IGN);
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = options.timeout.count() / 1000;
  tv.tv_usec = (options.timeout.count() % 1000) * 1000;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ctx_ = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx_, 0);  // let tests offer what a weak client would
  SSL_CTX_set_min_proto_version(ctx_, options.min_version);
  SSL_CTX_set_max_proto_version(ctx_, options.max_version);
  SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
  if (!options.cipher_list.empty()) SSL_CTX_set_cipher_list(ctx_, options.cipher_list.c_str());
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  const bool ok = SSL_connect(ssl_) == 1;
  ERR_clear_error();
  return ok;
}

bool TlsClient::Send(std::string_view bytes) {
  if (ssl_ == nullptr) return false;
  size_t off = 0;
  while (off < bytes.size()) {
    const int n = SSL_write(ssl_, bytes.data() + off, static_cast<int>(bytes.size() - off));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

int TlsClient::ReadSome(char* buf, int n) {
  const int r = SSL_read(ssl_, buf, n);
  if (r <= 0) ERR_clear_error();
  return r;
}

std::string TlsClient::ReadResponse() {
  if (ssl_ == nullptr) return {};
  std::string data = std::move(pending_);
  pending_.clear();
  char buf[16384];
  size_t head_end = std::string::npos;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    const int n = ReadSome(buf, sizeof buf);
    if (n <= 0) return {};
    data.append(buf, static_cast<size_t>(n));
  }
  const std::string head = data.substr(0, head_end + 4);
  const std::string len_text = HeaderOf(head, "Content-Length");
  if (!len_text.empty()) {
    const size_t len = std::stoul(len_text);
    while (data.size() < head_end + 4 + len) {
      const int n = ReadSome(buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<size_t>(n));
    }
    if (data.size() > head_end + 4 + len) {
      pending_ = data.substr(head_end + 4 + len);
      data.resize(head_end + 4 + len);
    }
  }
  return data;
}

bool TlsClient::WaitClosed(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          deadline - std::chrono::steady_clock::now())
                                          .count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
    const int n = SSL_read(ssl_, buf, sizeof buf);
    if (n <= 0) {
      const int err = SSL_get_error(ssl_, n);
      ERR_clear_error();
      if (err == SSL_ERROR_WANT_READ) continue;
      return true;
    }
  }
  return false;
}

std::string TlsClient::PeerFingerprint() const {
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), md, &len);
  X509_free(cert);
  return HexEncode({md, len});
}

int StatusOf(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string HeaderOf(const std::string& response, const std::string& name) {
  const size_t end = response.find("\r\n\r\n");
  size_t pos = response.find("\r\n");
  while (pos != std::string::npos && pos < end) {
    const size_t next = response.find("\r\n", pos + 2);
    const std::string line = response.substr(pos + 2, next - pos - 2);
    const size_t colon = line.find(':');
    if (colon == name.size() && ::strncasecmp(line.c_str(), name.c_str(), name.size()) == 0) {
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      return line.substr(v);
    }
    pos = next;
  }
  return {};
}

std::string BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

}  // namespace pactum::testing_support

#include "crypto/self_signed.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

namespace pactum::crypto {
namespace {

TEST(SelfSigned, CertificateMatchesKeyAndNamesLocalhost) {
  auto pair = GenerateSelfSigned({"localhost"}, {"127.0.0.1", "::1"}, std::chrono::hours(24));
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  BIO* cb = BIO_new_mem_buf(pair->certificate_pem.data(), -1);
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO* kb = BIO_new_mem_buf(pair->private_key_pem.data(), -1);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  ASSERT_NE(cert, nullptr);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(X509_check_private_key(cert, key), 1);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "::1", 0), 1);
  EXPECT_NE(X509_check_host(cert, "example.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_cmp_current_time(X509_get0_notAfter(cert)), 1);  // not expired
  X509_free(cert);
  EVP_PKEY_free(key);
  BIO_free(cb);
  BIO_free(kb);
}

TEST(SelfSigned, EachCallMakesANewKeyAndFingerprint) {
  auto a = GenerateSelfSigned({"localhost"}, {}, std::chrono::hours(1));
  auto b = GenerateSelfSigned({"localhost"}, {}, std::chrono::hours(1));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->private_key_pem, b->private_key_pem);
  auto fa = CertificateFingerprint(a->certificate_pem);
  ASSERT_TRUE(fa.ok());
  EXPECT_EQ(fa->size(), 64U);
  EXPECT_NE(*fa, *CertificateFingerprint(b->certificate_pem));
  EXPECT_FALSE(CertificateFingerprint("not a cert").ok());
}

}  // namespace
}  // namespace pactum::crypto

#include "crypto/local_key_provider.h"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "common/files.h"
#include "crypto/random.h"
#include "tests/support/temp_dir.h"

namespace pactum::crypto {
namespace {

using testing_support::TempDir;

KeyRef TenantKey() { return {"tenant", "7/v1"}; }

std::vector<uint8_t> DataKey() {
  std::vector<uint8_t> k(32);
  RandomBytes(k);
  return k;
}

bool Same(const SecretBytes& a, const std::vector<uint8_t>& b) {
  return a.size() == b.size() && std::equal(b.begin(), b.end(), a.data());
}

TEST(LocalKeyProvider, CreatesA0600FileAndWrapsAndUnwraps) {
  TempDir dir;
  auto p = LocalKeyProvider::Create(dir.File("master.key"), "dev");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  const auto dek = DataKey();
  auto wrapped = (*p)->Wrap(TenantKey(), dek);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->environment, "dev");
  EXPECT_EQ(wrapped->kek_version, 1U);
  // Through its storage encoding and a fresh load of the file.
  auto decoded = WrappedKey::Decode(wrapped->Encode());
  ASSERT_TRUE(decoded.ok());
  auto again = LocalKeyProvider::Load(dir.File("master.key"), "dev");
  ASSERT_TRUE(again.ok());
  auto plain = (*again)->Unwrap(TenantKey(), *decoded);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE(Same(*plain, dek));
  EXPECT_EQ(LocalKeyProvider::Create(dir.File("master.key"), "dev").status().code(),
            StatusCode::kAlreadyExists);
}

TEST(LocalKeyProvider, AWrappedKeyOnlyOpensInItsOwnSlot) {
  TempDir dir;
  auto p = std::move(LocalKeyProvider::Create(dir.File("k"), "dev")).value();
  const auto wrapped = *p->Wrap(TenantKey(), DataKey());
  EXPECT_EQ(p->Unwrap({"tenant", "8/v1"}, wrapped).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(p->Unwrap({"database", "7/v1"}, wrapped).status().code(), StatusCode::kDataLoss);
  auto flipped = wrapped;
  flipped.sealed[20] ^= 0x80;
  EXPECT_EQ(p->Unwrap(TenantKey(), flipped).status().code(), StatusCode::kDataLoss);
}

TEST(LocalKeyProvider, WrongMasterKeyIsRefused) {
  TempDir dir;
  auto a = std::move(LocalKeyProvider::Create(dir.File("a"), "dev")).value();
  auto b = std::move(LocalKeyProvider::Create(dir.File("b"), "dev")).value();
  const auto wrapped = *a->Wrap(TenantKey(), DataKey());
  const Status s = b->Unwrap(TenantKey(), wrapped).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("wrong master key"), std::string::npos);
}

TEST(LocalKeyProvider, AnotherEnvironmentIsRefusedForFilesAndKeys) {
  TempDir dir;
  auto prod = std::move(LocalKeyProvider::Create(dir.File("prod.key"), "prod")).value();
  const auto wrapped = *prod->Wrap(TenantKey(), DataKey());
  const auto loaded = LocalKeyProvider::Load(dir.File("prod.key"), "staging");
  EXPECT_EQ(loaded.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(loaded.status().message().find("'prod'"), std::string::npos);
  // Even holding the same KEK bytes, a staging process refuses prod's wrapped keys.
  auto text = *ReadFile(dir.File("prod.key"));
  const std::string b64 = text.substr(text.rfind(' ') + 1, 44);
  auto staging = std::move(LocalKeyProvider::FromBase64(b64, "staging")).value();
  EXPECT_EQ(staging->Unwrap(TenantKey(), wrapped).status().code(), StatusCode::kFailedPrecondition);
  auto forged = wrapped;
  forged.environment = "staging";  // relabelled: the environment is authenticated too
  EXPECT_EQ(staging->Unwrap(TenantKey(), forged).status().code(), StatusCode::kDataLoss);
}

TEST(LocalKeyProvider, FileReadableByOthersIsRefused) {
  TempDir dir;
  ASSERT_TRUE(LocalKeyProvider::Create(dir.File("k"), "dev").ok());
  ASSERT_EQ(::chmod(dir.File("k").c_str(), 0644), 0);
  const auto p = LocalKeyProvider::Load(dir.File("k"), "dev");
  EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("0644"), std::string::npos) << p.status().message();
}

TEST(LocalKeyProvider, MissingAndMalformedFilesAreRefused) {
  TempDir dir;
  EXPECT_EQ(LocalKeyProvider::Load(dir.File("none"), "dev").status().code(), StatusCode::kNotFound);
  const std::vector<std::string> bad = {"",
                                        "hello\n",
                                        "pactum-master-key-v1 environment=dev\n",
                                        "pactum-master-key-v1 environment=dev\nkek 1 c2hvcnQ=\n",
                                        "pactum-master-key-v1 environment=dev\nkek x AAAA\n",
                                        "pactum-master-key-v1 environment=dev\nkek 1\n"};
  for (const auto& text : bad) {
    ASSERT_TRUE(WriteFileAtomic(dir.File("bad"), text, 0600).ok());
    EXPECT_FALSE(LocalKeyProvider::Load(dir.File("bad"), "dev").ok()) << text;
  }
  EXPECT_FALSE(LocalKeyProvider::FromBase64("not base64!", "dev").ok());
}

TEST(LocalKeyProvider, RotationKeepsOldWrappingsReadableUntilRemoved) {
  TempDir dir;
  auto p = std::move(LocalKeyProvider::Create(dir.File("k"), "dev")).value();
  const auto dek = DataKey();
  const auto old_wrapping = *p->Wrap(TenantKey(), dek);
  ASSERT_TRUE(p->AddVersion().ok());
  ASSERT_TRUE(p->AddVersion().ok());
  EXPECT_EQ(p->current_version(), 3U);
  const auto new_wrapping = *p->Wrap(TenantKey(), dek);
  EXPECT_EQ(new_wrapping.kek_version, 3U);
  // After a restart both are readable.
  auto reloaded = std::move(LocalKeyProvider::Load(dir.File("k"), "dev")).value();
  EXPECT_TRUE(Same(*reloaded->Unwrap(TenantKey(), old_wrapping), dek));
  EXPECT_TRUE(Same(*reloaded->Unwrap(TenantKey(), new_wrapping), dek));
  // Once every key is rewrapped, old versions go; what they wrapped no longer opens.
  ASSERT_TRUE(reloaded->RemoveVersionsBelow(3).ok());
  auto final_p = std::move(LocalKeyProvider::Load(dir.File("k"), "dev")).value();
  EXPECT_EQ(final_p->Unwrap(TenantKey(), old_wrapping).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Same(*final_p->Unwrap(TenantKey(), new_wrapping), dek));
  EXPECT_FALSE(final_p->RemoveVersionsBelow(4).ok());  // never removes the last one
}

TEST(WrappedKey, DecodeRefusesGarbage) {
  for (const std::vector<uint8_t>& bad :
       {std::vector<uint8_t>{}, std::vector<uint8_t>{'p', 'w', 'k'},
        std::vector<uint8_t>{'x', 'w', 'k', '1', 0, 0, 0, 0, 1},
        std::vector<uint8_t>{'p', 'w', 'k', '1', 200, 'd'}}) {
    EXPECT_FALSE(WrappedKey::Decode(bad).ok());
  }
}

}  // namespace
}  // namespace pactum::crypto

#include "crypto/local_key_provider.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <sodium.h>

#include "common/files.h"
#include "crypto/aead.h"
#include "crypto/random.h"

namespace pactum::crypto {
namespace {

constexpr std::string_view kHeader = "pactum-master-key-v1 environment=";

std::string Aad(const std::string& environment, uint32_t version, const KeyRef& ref) {
  std::string aad = "pactum-wrap-v1";
  for (const std::string& part : {environment, std::to_string(version), ref.purpose, ref.id}) {
    aad += '\0';
    aad += part;
  }
  return aad;
}

Result<SecretBytes> DecodeKey(std::string_view base64) {
  SecretBytes key(kAesKeyBytes);
  size_t len = 0;
  if (sodium_base642bin(key.data(), key.size(), base64.data(), base64.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != kAesKeyBytes) {
    return InvalidArgument("a master key must be 32 bytes in base64");
  }
  return key;
}

std::string EncodeKey(const SecretBytes& key) {
  std::string out(sodium_base64_ENCODED_LEN(key.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace

Result<std::unique_ptr<LocalKeyProvider>> LocalKeyProvider::Load(const std::string& path,
                                                                 const std::string& environment) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound("master key file " + path + " not found");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return FailedPrecondition("master key file " + path + " is readable by group or others (mode " +
                              mode + "); chmod 600 it");
  }
  auto text = ReadFile(path);
  if (!text.ok()) return FailedPrecondition("cannot read master key file " + path);
  std::istringstream in(*text);
  sodium_memzero(text->data(), text->size());
  std::string line;
  if (!std::getline(in, line) || !line.starts_with(kHeader)) {
    return InvalidArgument("master key file " + path + " is not a Pactum master key file");
  }
  const std::string file_env = line.substr(kHeader.size());
  if (file_env != environment) {
    return FailedPrecondition("master key file " + path + " belongs to environment '" + file_env +
                              "', this process runs as '" + environment + "'");
  }
  std::unique_ptr<LocalKeyProvider> p(new LocalKeyProvider(environment, path));
  uint32_t last = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // "kek <version> <base64>"
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    uint32_t version = 0;
    const char* vbegin = line.data() + sp1 + 1;
    const char* vend = line.data() + (sp2 == std::string::npos ? line.size() : sp2);
    if (line.compare(0, sp1, "kek") != 0 || sp2 == std::string::npos ||
        std::from_chars(vbegin, vend, version).ptr != vend || version <= last) {
      sodium_memzero(line.data(), line.size());
      return InvalidArgument("master key file " + path + " has a malformed line");
    }
    auto key = DecodeKey(std::string_view(line).substr(sp2 + 1));
    sodium_memzero(line.data(), line.size());
    if (!key.ok())
      return InvalidArgument("master key file " + path + ": " + key.status().message());
    p->keks_.emplace(version, std::move(key).value());
    last = version;
  }
  if (p->keks_.empty()) return InvalidArgument("master key file " + path + " holds no key");
  return p;
}

Result<std::unique_ptr<LocalKeyProvider>> LocalKeyProvider::Create(const std::string& path,
                                                                   const std::string& environment) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return AlreadyExists("master key file " + path + " exists");
  std::unique_ptr<LocalKeyProvider> p(new LocalKeyProvider(environment, path));
  SecretBytes kek(kAesKeyBytes);
  RandomBytes(kek.span());
  p->keks_.emplace(1, std::move(kek));
  {
    std::lock_guard lock(p->mu_);
    RETURN_IF_ERROR(p->SaveLocked(/*exclusive=*/true));
  }
  return Load(path, environment);
}

Result<std::unique_ptr<LocalKeyProvider>> LocalKeyProvider::FromBase64(
    std::string_view base64, const std::string& environment) {
  ASSIGN_OR_RETURN(auto key, DecodeKey(base64));
  std::unique_ptr<LocalKeyProvider> p(new LocalKeyProvider(environment, ""));
  p->keks_.emplace(1, std::move(key));
  return p;
}

uint32_t LocalKeyProvider::current_version() const {
  std::lock_guard lock(mu_);
  return keks_.rbegin()->first;
}

Result<WrappedKey> LocalKeyProvider::Wrap(const KeyRef& ref, std::span<const uint8_t> key) {
  std::lock_guard lock(mu_);
  const auto& [version, kek] = *keks_.rbegin();
  WrappedKey out;
  out.environment = environment_;
  out.kek_version = version;
  ASSIGN_OR_RETURN(out.sealed, AesGcmSeal(kek.span(), key, Aad(environment_, version, ref)));
  return out;
}

Result<SecretBytes> LocalKeyProvider::Unwrap(const KeyRef& ref, const WrappedKey& wrapped) {
  if (wrapped.environment != environment_) {
    return FailedPrecondition("key belongs to environment '" + wrapped.environment +
                              "', this process runs as '" + environment_ + "'");
  }
  std::lock_guard lock(mu_);
  const auto it = keks_.find(wrapped.kek_version);
  if (it == keks_.end()) {
    return NotFound("master key version " + std::to_string(wrapped.kek_version) + " is not loaded");
  }
  auto key =
      AesGcmOpen(it->second.span(), wrapped.sealed, Aad(environment_, wrapped.kek_version, ref));
  if (!key.ok()) return DataLoss("cannot unwrap key: wrong master key or altered key material");
  return key;
}

Status LocalKeyProvider::AddVersion() {
  if (path_.empty()) {
    return FailedPrecondition(
        "the master key is injected through PACTUM_MASTER_KEY, not kept in a key file here; "
        "rotate it where it is kept");
  }
  std::lock_guard lock(mu_);
  SecretBytes kek(kAesKeyBytes);
  RandomBytes(kek.span());
  const uint32_t next = keks_.rbegin()->first + 1;
  keks_.emplace(next, std::move(kek));
  Status s = SaveLocked();
  if (!s.ok()) keks_.erase(next);
  return s;
}

Status LocalKeyProvider::RemoveVersionsBelow(uint32_t version) {
  if (path_.empty()) return FailedPrecondition("this master key is not backed by a file");
  std::lock_guard lock(mu_);
  if (keks_.rbegin()->first < version) return InvalidArgument("that would remove every version");
  std::map<uint32_t, SecretBytes> kept;
  for (auto& [v, k] : keks_) {
    if (v >= version) kept.emplace(v, SecretBytes::CopyOf(k.span()));
  }
  std::swap(keks_, kept);
  Status s = SaveLocked();
  if (!s.ok()) std::swap(keks_, kept);
  return s;
}

Status LocalKeyProvider::SaveLocked(bool exclusive) const {
  std::string text = std::string(kHeader) + environment_ + "\n";
  for (const auto& [version, kek] : keks_) {
    text += "kek " + std::to_string(version) + " " + EncodeKey(kek) + "\n";
  }
  Status s = exclusive ? WriteFileExclusive(path_, text, 0600) : WriteFileAtomic(path_, text, 0600);
  sodium_memzero(text.data(), text.size());
  return s;
}

}  // namespace pactum::crypto

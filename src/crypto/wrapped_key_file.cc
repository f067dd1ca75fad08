#include "crypto/wrapped_key_file.h"

#include <sys/stat.h>

#include <cstring>

#include <sodium.h>

#include "common/files.h"
#include "crypto/aead.h"
#include "crypto/random.h"

namespace pactum::crypto {
namespace {

std::string HeaderLine(const KeyRef& ref) {
  return "pactum-wrapped-key-v1 purpose=" + ref.purpose + " id=" + ref.id;
}

Result<WrappedKey> ParseWrapped(std::string_view text, const std::string& path, const KeyRef& ref) {
  const std::string header = HeaderLine(ref) + "\n";
  if (!text.starts_with(header)) {
    return InvalidArgument("key file " + path + " is not a wrapped " + ref.purpose + " key");
  }
  std::string b64(text.substr(header.size()));
  while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r')) b64.pop_back();
  std::vector<uint8_t> bytes(b64.size());
  size_t len = 0;
  if (sodium_base642bin(bytes.data(), bytes.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return InvalidArgument("key file " + path + " is malformed");
  }
  bytes.resize(len);
  auto wrapped = WrappedKey::Decode(bytes);
  if (!wrapped.ok()) return InvalidArgument("key file " + path + " is malformed");
  return wrapped;
}

Result<WrappedKey> ReadWrapped(const std::string& path, const KeyRef& ref) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound("key file " + path + " not found");
  ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  return ParseWrapped(text, path, ref);
}

std::string TextOf(const KeyRef& ref, const WrappedKey& wrapped) {
  const std::vector<uint8_t> bytes = wrapped.Encode();
  std::string b64(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), bytes.data(), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  return HeaderLine(ref) + "\n" + b64 + "\n";
}

Status WriteWrapped(const std::string& path, const KeyRef& ref, const WrappedKey& wrapped,
                    bool exclusive) {
  const std::string text = TextOf(ref, wrapped);
  return exclusive ? WriteFileExclusive(path, text, 0600) : WriteFileAtomic(path, text, 0600);
}

Result<SecretBytes> Unwrap(const std::string& path, KeyProvider& keys, const KeyRef& ref,
                           const WrappedKey& wrapped) {
  if (wrapped.environment != keys.environment()) {
    return FailedPrecondition(path + " belongs to environment '" + wrapped.environment +
                              "', this process runs as '" + keys.environment() + "'");
  }
  auto key = keys.Unwrap(ref, wrapped);
  if (key.ok()) return key;
  switch (key.status().code()) {
    case StatusCode::kNotFound:
      return FailedPrecondition(path + " is wrapped with master key version " +
                                std::to_string(wrapped.kek_version) +
                                ", which the master key no longer holds");
    case StatusCode::kDataLoss:
      return DataLoss("the master key does not open " + path +
                      " (wrong master key, or the file was altered)");
    default:
      return key.status();
  }
}

}  // namespace

Result<SecretBytes> LoadWrappedKeyFile(const std::string& path, KeyProvider& keys,
                                       const KeyRef& ref) {
  ASSIGN_OR_RETURN(const WrappedKey wrapped, ReadWrapped(path, ref));
  return Unwrap(path, keys, ref, wrapped);
}

Result<SecretBytes> CreateWrappedKeyFile(const std::string& path, KeyProvider& keys,
                                         const KeyRef& ref) {
  SecretBytes key(kAesKeyBytes);
  RandomBytes(key.span());
  ASSIGN_OR_RETURN(const WrappedKey wrapped, keys.Wrap(ref, key.span()));
  RETURN_IF_ERROR(WriteWrapped(path, ref, wrapped, /*exclusive=*/true));
  return key;
}

Result<uint32_t> RewrapKeyFile(const std::string& path, KeyProvider& keys, const KeyRef& ref) {
  ASSIGN_OR_RETURN(const WrappedKey old, ReadWrapped(path, ref));
  ASSIGN_OR_RETURN(const SecretBytes key, Unwrap(path, keys, ref, old));
  ASSIGN_OR_RETURN(const WrappedKey wrapped, keys.Wrap(ref, key.span()));
  RETURN_IF_ERROR(WriteWrapped(path, ref, wrapped, /*exclusive=*/false));
  return wrapped.kek_version;
}

Result<std::string> WrappedKeyText(KeyProvider& keys, const KeyRef& ref,
                                   std::span<const uint8_t> key) {
  ASSIGN_OR_RETURN(const WrappedKey wrapped, keys.Wrap(ref, key));
  return TextOf(ref, wrapped);
}

Result<SecretBytes> UnwrapKeyText(std::string_view text, const std::string& origin,
                                  KeyProvider& keys, const KeyRef& ref) {
  ASSIGN_OR_RETURN(const WrappedKey wrapped, ParseWrapped(text, origin, ref));
  return Unwrap(origin, keys, ref, wrapped);
}

}  // namespace pactum::crypto

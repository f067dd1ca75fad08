#include "crypto/key_provider.h"

#include <cstring>

namespace pactum::crypto {
namespace {
constexpr char kMagic[4] = {'p', 'w', 'k', '1'};
}

std::vector<uint8_t> WrappedKey::Encode() const {
  std::vector<uint8_t> out(kMagic, kMagic + 4);
  out.push_back(static_cast<uint8_t>(environment.size()));
  out.insert(out.end(), environment.begin(), environment.end());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<uint8_t>(kek_version >> shift));
  }
  out.insert(out.end(), sealed.begin(), sealed.end());
  return out;
}

Result<WrappedKey> WrappedKey::Decode(std::span<const uint8_t> bytes) {
  if (bytes.size() < 5 || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return InvalidArgument("not a wrapped key");
  }
  const size_t env_len = bytes[4];
  if (bytes.size() < 5 + env_len + 4) return InvalidArgument("truncated wrapped key");
  WrappedKey out;
  out.environment.assign(reinterpret_cast<const char*>(bytes.data() + 5), env_len);
  const uint8_t* v = bytes.data() + 5 + env_len;
  out.kek_version = (uint32_t{v[0]} << 24) | (uint32_t{v[1]} << 16) | (uint32_t{v[2]} << 8) | v[3];
  out.sealed.assign(v + 4, bytes.data() + bytes.size());
  return out;
}

}  // namespace pactum::crypto

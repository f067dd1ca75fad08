#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace pactum {

// Lower-case hexadecimal, two characters per byte.
inline std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

}  // namespace pactum

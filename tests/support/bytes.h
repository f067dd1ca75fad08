#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace pactum::testing_support {

// The bytes of a string, for tests that feed text to byte-oriented code.
inline std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace pactum::testing_support

#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

namespace pactum::testing_support {

// The number of '\n' in `s`: the lines a command printed.
inline size_t Lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

// The lines of `s`, each without its '\n'; text after the last '\n' is left out.
inline std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t nl = s.find('\n'); nl != std::string::npos; nl = s.find('\n', start)) {
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace pactum::testing_support

#pragma once

// LIKE patterns from user input, for both engines: `column LIKE $n ESCAPE '\'` with the
// pattern from here matches exactly the text given, wherever it occurs. Both SQLite and
// PostgreSQL take `\` as the escape character named this way (PostgreSQL with
// standard_conforming_strings on, its default since 9.1). Neither engine's case rules
// should decide a match: compare folded text with folded text (common/text_fold.h).

#include <string>
#include <string_view>

namespace pactum::store {

// "%<text with \, % and _ escaped>%".
inline std::string LikeContaining(std::string_view text) {
  std::string out = "%";
  out.reserve(text.size() + 2);
  for (const char c : text) {
    if (c == '\\' || c == '%' || c == '_') out += '\\';
    out += c;
  }
  out += '%';
  return out;
}

}  // namespace pactum::store

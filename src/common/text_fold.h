#pragma once

// Text folded for case-insensitive matching, the same on every database engine: the
// services store a folded copy beside what users typed and compare folded text with
// folded text, so no engine's own lower() (ASCII-only in SQLite, locale-dependent in
// PostgreSQL) decides what matches. Thread-safe.

#include <string>
#include <string_view>

#include "common/status.h"

namespace pactum {

// `utf8` under Unicode NFKC_Casefold (ICU): compatibility forms unified, case folded
// (full folding: "Straße" and "STRASSE" both become "strasse"), default-ignorable
// characters removed. Invalid UTF-8 sequences become U+FFFD. kInternal only when ICU's
// normalization data cannot be loaded.
//
// The folding belongs to the data: a stored folded column must be recomputed (by a
// migration) if this function ever changes what it returns.
Result<std::string> FoldForMatching(std::string_view utf8);

}  // namespace pactum

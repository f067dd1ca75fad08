#pragma once

// The one rule for text a user gives the server: names of tokens, users, tags, custom
// fields and their options, contract titles, and (as prose) a custom text field's value.
// Stored text is shown to other people, in lists, logs and exports: it must not hide
// characters, reorder what is displayed around it, or end a line. A check refuses:
//   - anything but valid UTF-8 (surrogates, overlong forms and truncated sequences);
//   - control characters: C0 (NUL, tab and newline included), DEL, C1, and the line and
//     paragraph separators U+2028/U+2029; prose allows \n and \t;
//   - bidirectional controls: U+061C, U+200E/U+200F, U+202A-U+202E, U+2066-U+2069;
//   - invisible format characters: U+00AD, U+034F, U+115F/U+1160, U+17B4/U+17B5, U+180E,
//     U+200B, U+2060-U+206F, U+3164, U+FEFF, U+FFA0, U+FFF9-U+FFFB, U+1BCA0-U+1BCA3,
//     U+1D173-U+1D17A, U+E0000-U+E007F; the joiners U+200C/U+200D only between two
//     characters from U+0590 up (Arabic, Indic scripts, emoji sequences need them; in
//     Latin, Greek or Cyrillic text they only hide);
//   - noncharacters (U+FDD0-U+FDEF, U+nFFFE, U+nFFFF);
//   - for names, leading or trailing white space (refused rather than trimmed: what is
//     stored is exactly what was checked, and "acme" and "acme " never become two names
//     that look the same);
//   - a length outside the caller's bounds, counted in code points (as SQL length() does).
// Stateless and thread-safe.

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pactum {

// What the text is: a one-line name, or prose that may hold \n and \t and may start or
// end with white space.
enum class TextKind { kName, kProse };

// Why `text` breaks the rule above apart from its length ("contains a control character",
// "contains an invisible character (U+200B)"), or "" when it does not.
std::string TextProblem(std::string_view text, TextKind kind = TextKind::kName);

// OK when `text` keeps the rule and has `min_chars`-`max_chars` code points; otherwise
// kInvalidArgument "\"<field>\" <why>", which names the field and, for a refused
// character, its code point, never the text itself.
Status CheckText(std::string_view text, std::string_view field, size_t min_chars, size_t max_chars,
                 TextKind kind = TextKind::kName);

// The number of code points of valid UTF-8 `text` (of lead bytes, for invalid input).
size_t Utf8Length(std::string_view text);

// Decodes the code point at the start of valid UTF-8 `text` and the bytes it takes;
// {0xFFFD, 1} for an invalid sequence.
struct CodePoint {
  char32_t value = 0;
  size_t bytes = 0;
  // An invalid sequence (a U+FFFD written out in the text takes 3 bytes).
  bool invalid() const { return value == 0xfffd && bytes == 1; }
};
CodePoint DecodeUtf8(std::string_view text);

}  // namespace pactum

#include "common/text_fold.h"

#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

namespace pactum {

Result<std::string> FoldForMatching(std::string_view utf8) {
  UErrorCode error = U_ZERO_ERROR;
  // ICU owns the instance; it is immutable and shared by all threads.
  const icu::Normalizer2* fold = icu::Normalizer2::getNFKCCasefoldInstance(error);
  if (U_FAILURE(error) || fold == nullptr) {
    return Internal(std::string("ICU NFKC_Casefold data: ") + u_errorName(error));
  }
  const icu::UnicodeString folded =
      fold->normalize(icu::UnicodeString::fromUTF8(
                          icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size()))),
                      error);
  if (U_FAILURE(error)) return Internal(std::string("ICU NFKC_Casefold: ") + u_errorName(error));
  std::string out;
  folded.toUTF8String(out);
  return out;
}

}  // namespace pactum

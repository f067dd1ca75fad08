#pragma once

// QR codes as SVG (libqrencode), for authenticator-app enrolment. Thread-safe.

#include <string>
#include <string_view>

#include "common/status.h"

namespace pactum::auth {

// `text` as a QR code (error correction level M, 8-bit mode) drawn as one SVG path of
// dark modules with a four-module quiet zone. kInvalidArgument when it does not fit.
Result<std::string> QrSvg(std::string_view text);

}  // namespace pactum::auth

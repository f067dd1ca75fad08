#include "auth/qr_svg.h"

#include <qrencode.h>

#include <memory>

namespace pactum::auth {

Result<std::string> QrSvg(std::string_view text) {
  const std::string input(text);  // libqrencode reads a NUL-terminated string
  const std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(input.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (!code) return InvalidArgument("the text does not fit in a QR code");
  constexpr int kQuiet = 4;
  const int width = code->width;
  const std::string size = std::to_string(width + 2 * kQuiet);
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + size + " " + size +
                    "\" shape-rendering=\"crispEdges\"><rect width=\"" + size + "\" height=\"" +
                    size + "\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width; ++x) {
      // Bit 0 of each module's byte is 1 for a dark module.
      if ((code->data[static_cast<size_t>(y) * static_cast<size_t>(width) +
                      static_cast<size_t>(x)] &
           1) != 0) {
        svg += 'M';
        svg += std::to_string(x + kQuiet);
        svg += ' ';
        svg += std::to_string(y + kQuiet);
        svg += "h1v1h-1z";
      }
    }
  }
  svg += "\"/></svg>";
  return svg;
}

}  // namespace pactum::auth

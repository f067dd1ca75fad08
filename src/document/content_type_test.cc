#include "document/content_type.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pactum::document {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

void Put16(std::string& out, uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}
void Put32(std::string& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v & 0xffff));
  Put16(out, static_cast<uint16_t>(v >> 16));
}

// A ZIP archive of stored (uncompressed) entries, as office formats are: local headers
// with the data, then the central directory. CRCs are left zero (type detection does not
// look at them).
std::string Zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out;
  std::string central;
  for (const auto& [name, data] : entries) {
    const auto offset = static_cast<uint32_t>(out.size());
    out += "PK\x03\x04";
    Put16(out, 20);
    Put16(out, 0);
    Put16(out, 0);  // stored
    Put32(out, 0);  // time, date
    Put32(out, 0);  // crc
    Put32(out, static_cast<uint32_t>(data.size()));
    Put32(out, static_cast<uint32_t>(data.size()));
    Put16(out, static_cast<uint16_t>(name.size()));
    Put16(out, 0);
    out += name;
    out += data;
    central += "PK\x01\x02";
    Put16(central, 20);
    Put16(central, 20);
    Put16(central, 0);
    Put16(central, 0);
    Put32(central, 0);
    Put32(central, 0);
    Put32(central, static_cast<uint32_t>(data.size()));
    Put32(central, static_cast<uint32_t>(data.size()));
    Put16(central, static_cast<uint16_t>(name.size()));
    Put16(central, 0);
    Put16(central, 0);
    Put16(central, 0);
    Put16(central, 0);
    Put32(central, 0);
    Put32(central, offset);
    central += name;
  }
  const auto dir_offset = static_cast<uint32_t>(out.size());
  out += central;
  out += "PK\x05\x06";
  Put16(out, 0);
  Put16(out, 0);
  Put16(out, static_cast<uint16_t>(entries.size()));
  Put16(out, static_cast<uint16_t>(entries.size()));
  Put32(out, static_cast<uint32_t>(central.size()));
  Put32(out, dir_offset);
  Put16(out, 0);
  return out;
}

std::string Detect(std::string_view content) {
  auto t = DetectType(Bytes(content), true);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : "";
}

TEST(DetectType, NamesTheAllowedOfficeImageAndTextFormatsFromTheirContent) {
  const std::string types =
      R"(<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>)";
  EXPECT_EQ(Detect(Zip({{"[Content_Types].xml", types},
                        {"_rels/.rels", "<r/>"},
                        {"word/document.xml", "<w/>"}})),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  EXPECT_EQ(
      Detect(Zip(
          {{"[Content_Types].xml", types}, {"_rels/.rels", "<r/>"}, {"xl/workbook.xml", "<w/>"}})),
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  EXPECT_EQ(Detect(Zip({{"mimetype", "application/vnd.oasis.opendocument.text"},
                        {"content.xml", "<x/>"}})),
            "application/vnd.oasis.opendocument.text");
  EXPECT_EQ(Detect(std::string("%PDF-1.7\n") + std::string(2000, '\0')), "application/pdf");
  EXPECT_EQ(Detect(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)), "image/png");
  EXPECT_EQ(Detect(std::string("\xff\xd8\xff\xe0\0\x10JFIF\0", 11)), "image/jpeg");
  EXPECT_EQ(Detect("Master services agreement\nbetween A and B\n"), "text/plain");
  EXPECT_EQ(Detect("Vertrag \xc3\xbc"
                   "ber Lieferungen \xe2\x80\x94 ok\n"),
            "text/plain");
}

TEST(DetectType, EmptyAndTinyTextIsPlainText) {
  EXPECT_EQ(Detect(""), "text/plain");
  EXPECT_EQ(Detect("A"), "text/plain");
  EXPECT_EQ(Detect("ok\n"), "text/plain");
}

TEST(DetectType, TheClaimDoesNotMatterOnlyTheBytes) {
  // Script-carrying and unlisted formats are named for what they are, whatever the
  // client calls them, so the allowlist refuses them.
  EXPECT_EQ(Detect("<html><body><script>alert(1)</script></body></html>"), "text/html");
  EXPECT_EQ(Detect(R"(<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>)"), "image/svg+xml");
  EXPECT_EQ(Detect(Zip({{"foo.txt", "hi"}})), "application/zip");
  EXPECT_NE(Detect(std::string("\x7f"
                               "ELF\x02\x01\x01",
                               7) +
                   std::string(100, '\0')),
            "text/plain");
  EXPECT_NE(Detect(std::string("\0\1\2\3", 4)), "text/plain");  // binary is not text
}

TEST(DetectType, AWindowCutInsideACharacterIsStillText) {
  std::string text(kSniffBytes - 1, 'a');
  text += "\xc3";  // the first byte of a two-byte character, cut by the window
  auto t = DetectType(Bytes(text), /*complete=*/false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "text/plain");
}

TEST(SanitizeFilename, KeepsOnlyASafeLastComponent) {
  EXPECT_EQ(SanitizeFilename("contract.pdf"), "contract.pdf");
  EXPECT_EQ(SanitizeFilename("../../etc/passwd"), "passwd");
  EXPECT_EQ(SanitizeFilename("C:\\Users\\ann\\Vertrag 2027.docx"), "Vertrag 2027.docx");
  EXPECT_EQ(SanitizeFilename("invoice\xe2\x80\xae"
                             "fdp.exe"),
            "invoicefdp.exe");  // U+202E
  EXPECT_EQ(SanitizeFilename("a\r\nSet-Cookie: x\t.txt"), "aSet-Cookie x.txt");
  EXPECT_EQ(SanitizeFilename("what?*<>|\".txt"), "what.txt");
  EXPECT_EQ(SanitizeFilename(".htaccess"), "htaccess");
  EXPECT_EQ(SanitizeFilename("  spaced  "), "spaced");
  EXPECT_EQ(SanitizeFilename("Übersicht – März.pdf"), "Übersicht – März.pdf");
  for (const char* nothing : {"", "/", "..", " . ", "\x01\x02", "dir/"}) {
    EXPECT_EQ(SanitizeFilename(nothing), "document") << nothing;
  }
  EXPECT_EQ(SanitizeFilename("bad\xff\xfeutf8"), "document");
}

TEST(SanitizeFilename, LongNamesAreCutAtWholeCharacters) {
  std::string name;
  for (int i = 0; i < 150; ++i) name += "\xc3\xa4";  // "ä", two bytes each
  const std::string cut = SanitizeFilename(name);
  EXPECT_EQ(cut.size(), 200U);
  EXPECT_EQ(cut, name.substr(0, 200));
}

}  // namespace
}  // namespace pactum::document

// Documents and download links over real HTTPS: the endpoints against every kind of
// caller, streamed uploads with their limits, downloads with their headers and ranges,
// links that expire, are bound to their session and refuse every tampering, stored bytes
// that never hold plaintext, and altered objects that never reach a client as content.

#include <openssl/evp.h>
#include <sodium.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/hex.h"
#include "crypto/file_cipher.h"
#include "crypto/random.h"
#include "crypto/token.h"
#include "tests/support/api_test.h"
#include "tests/support/recording_audit_sink.h"

namespace pactum {
namespace {

using namespace testing_support;  // NOLINT(google-build-using-namespace)

// The resident set now, from /proc (the peak of getrusage would remember earlier tests).
long RssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

class DocumentApiTest : public ApiTest {
 protected:
  void Configure(config::Config& config) override { config.limits.max_upload_bytes = max_upload_; }

  int64_t NewContract(const std::vector<std::string>& as, const std::string& title = "Supply") {
    auto r = Call("POST", "/api/v1/contracts", nlohmann::json{{"title", title}}.dump(), as);
    EXPECT_EQ(r.status, 201) << r.body;
    return nlohmann::json::parse(r.body).value("id", int64_t{0});
  }

  HttpResponse Get(const std::string& path, std::vector<std::string> headers = {}) {
    return Call("GET", path, "", std::move(headers));
  }

  static std::string Cookie(const std::vector<std::string>& as) { return as.at(0); }

  int64_t max_upload_ = 2LL << 30;
};

std::string Sha256Hex(std::string_view data) {
  const std::string raw = crypto::Sha256(data);
  return HexEncode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
}

// Expectations written here, apart from the policy table: a mistake in either fails.
TEST_F(DocumentApiTest, EveryDocumentEndpointAnswersEveryCallerAsExpected) {
  const auto ada = As("acme", "ada@example.com", auth::Role::kAdmin);
  struct Caller {
    std::string name, tenant, email;
    auth::Role role;
    std::vector<long> expected;  // upload, list, get, link, download, delete
  };
  const std::vector<Caller> callers = {
      {"anonymous", "", "", auth::Role::kViewer, {401, 401, 401, 401, 0, 401}},
      {"viewer", "acme", "vera@example.com", auth::Role::kViewer, {403, 200, 200, 200, 200, 403}},
      {"user, not the owner",
       "acme",
       "uma@example.com",
       auth::Role::kUser,
       {403, 200, 200, 200, 200, 403}},
      {"manager", "acme", "max@example.com", auth::Role::kManager, {201, 200, 200, 200, 200, 204}},
      {"admin of another tenant",
       "globex",
       "bea@example.com",
       auth::Role::kAdmin,
       {404, 404, 404, 404, 0, 404}},
      {"admin", "acme", "ada@example.com", auth::Role::kAdmin, {201, 200, 200, 200, 200, 204}},
  };
  for (const Caller& c : callers) {
    std::vector<std::string> h;
    if (!c.email.empty()) h = As(c.tenant, c.email, c.role);
    const int64_t contract = NewContract(ada);
    auto up = Upload(ada, contract, "the terms");
    ASSERT_EQ(up.status, 201) << up.body;
    const std::string doc =
        "/api/v1/documents/" + std::to_string(int64_t(nlohmann::json::parse(up.body)["id"]));
    auto link = Call("POST", doc + "/link", "", h);
    long download = 0;  // no link to try
    if (link.status == 200) {
      const std::string url = nlohmann::json::parse(link.body)["url"];
      download = Get(url.substr(url.find("/files/")), {Cookie(h)}).status;
    }
    const std::vector<long> got = {
        Upload(h, contract, "more terms").status,
        Get("/api/v1/contracts/" + std::to_string(contract) + "/documents", h).status,
        Get(doc, h).status,
        link.status,
        download,
        Call("DELETE", doc, "", h).status,
    };
    EXPECT_EQ(got, c.expected) << c.name;
  }
}

TEST_F(DocumentApiTest, AUserUploadsToAndDeletesFromTheirOwnContractsOnly) {
  const auto uma = As("acme", "uma@example.com", auth::Role::kUser);
  const int64_t mine = NewContract(uma);
  auto up = Upload(uma, mine, "mine");
  ASSERT_EQ(up.status, 201) << up.body;
  const int64_t id = nlohmann::json::parse(up.body)["id"];
  EXPECT_EQ(Call("DELETE", "/api/v1/documents/" + std::to_string(id), "", uma).status, 204);
}

TEST_F(DocumentApiTest, DownloadsAreAttachmentsWithTheStoredTypeAndRanges) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  std::string content = "%PDF-1.7\n";
  while (content.size() < 3 * crypto::kFileChunkBytes + 1234) {
    content += "line " + std::to_string(content.size()) + "\n";
  }
  // The client claims text, calls it with a path and a CR/LF: none of it is believed.
  auto up = Upload(ann, contract, content, "..%2F..%2Fetc%2Fsecret%0D%0A%E2%80%AEfdp.exe");
  ASSERT_EQ(up.status, 201) << up.body;
  const auto doc = nlohmann::json::parse(up.body);
  EXPECT_EQ(doc["media_type"], "application/pdf");
  EXPECT_EQ(doc["name"], "secretfdp.exe") << "the last path component, controls and bidi removed";
  EXPECT_EQ(doc["size"], content.size());
  EXPECT_EQ(doc["sha256"], Sha256Hex(content));

  const std::string link = LinkPath(ann, doc["id"]);
  auto r = Get(link, {Cookie(ann)});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, content);
  EXPECT_EQ(r.headers["content-type"], "application/pdf");
  EXPECT_EQ(r.headers["content-disposition"],
            "attachment; filename=\"secretfdp.exe\"; filename*=UTF-8''secretfdp.exe");
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(r.headers["cache-control"], "no-store");
  EXPECT_EQ(r.headers["accept-ranges"], "bytes");

  const size_t size = content.size();
  const size_t chunk = crypto::kFileChunkBytes;
  struct Case {
    std::string range;
    size_t first, last;
  };
  for (const Case& c :
       std::vector<Case>{{"bytes=0-9", 0, 9},
                         {"bytes=" + std::to_string(chunk - 1) + "-" + std::to_string(chunk + 1),
                          chunk - 1, chunk + 1},
                         {"bytes=-5", size - 5, size - 1},
                         {"bytes=100000-", 100000, size - 1},
                         {"bytes=5-999999999", 5, size - 1}}) {
    auto part = Get(link, {Cookie(ann), "Range: " + c.range});
    EXPECT_EQ(part.status, 206) << c.range;
    EXPECT_EQ(part.body, content.substr(c.first, c.last - c.first + 1)) << c.range;
    EXPECT_EQ(part.headers["content-range"], "bytes " + std::to_string(c.first) + "-" +
                                                 std::to_string(c.last) + "/" +
                                                 std::to_string(size))
        << c.range;
  }
  auto outside = Get(link, {Cookie(ann), "Range: bytes=" + std::to_string(size) + "-"});
  EXPECT_EQ(outside.status, 416);
  EXPECT_EQ(outside.headers["content-range"], "bytes */" + std::to_string(size));
  EXPECT_EQ(Get(link, {Cookie(ann), "Range: bytes=0-1,5-6"}).body, content)
      << "several ranges: the whole file";
  // Numbers past 64 bits: a start past the end, an end or a suffix covering the file.
  EXPECT_EQ(Get(link, {Cookie(ann), "Range: bytes=99999999999999999999-"}).status, 416);
  auto to_end = Get(link, {Cookie(ann), "Range: bytes=3-99999999999999999999"});
  EXPECT_EQ(to_end.status, 206);
  EXPECT_EQ(to_end.body, content.substr(3));
  auto suffix = Get(link, {Cookie(ann), "Range: bytes=-99999999999999999999"});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, content);
  EXPECT_EQ(Get(link, {Cookie(ann), "Range: bytes=+1-2"}).body, content) << "not a range we serve";
}

TEST_F(DocumentApiTest, UploadsAreRefusedByContentNotByClaim) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  auto html = Upload(ann, contract, "<html><script>alert(1)</script></html>", "invoice.pdf");
  EXPECT_EQ(html.status, 415);
  EXPECT_EQ(nlohmann::json::parse(html.body)["error"]["code"], "unsupported_type");
  auto list = Get("/api/v1/contracts/" + std::to_string(contract) + "/documents", ann);
  EXPECT_EQ(nlohmann::json::parse(list.body)["documents"].size(), 0U);
}

class SmallUploadLimitTest : public DocumentApiTest {
 protected:
  SmallUploadLimitTest() { max_upload_ = 1 << 20; }
};

TEST_F(SmallUploadLimitTest, AnUploadPastTheLimitIs413AndLeavesNothing) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  HttpRequest r;
  r.method = "POST";
  r.url = srv_.Url("/api/v1/contracts/" + std::to_string(contract) + "/documents");
  r.headers = ann;
  r.ca_file = srv_.ca_file;
  uint64_t sent = 0;
  r.body_source = [&](char* buf, size_t max) -> size_t {  // chunked: no length to refuse early
    if (sent >= (8U << 20)) return 0;
    std::memset(buf, 'a', max);
    sent += max;
    return max;
  };
  auto res = Perform(r);
  EXPECT_EQ(res.status, 413) << res.body;
  EXPECT_LT(sent, 8U << 20) << "refused while streaming, not after reading everything";
  int objects = 0;
  ASSERT_TRUE(blobs_->List([&](const blob::BlobId&, auto) { ++objects; }).ok());
  EXPECT_EQ(objects, 0);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(srv_.dir.File("files/tmp")),
                          std::filesystem::directory_iterator()),
            0);
}

TEST_F(DocumentApiTest, ALinkIsBoundToTheSessionThatMadeItUnlessTheTenantSaysOtherwise) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const auto ann_elsewhere = As("acme", "ann2@example.com", auth::Role::kManager);
  const auto gus = As("globex", "bea@example.com", auth::Role::kAdmin);
  const int64_t contract = NewContract(ann);
  auto up = Upload(ann, contract, "bound");
  const std::string link = LinkPath(ann, nlohmann::json::parse(up.body)["id"]);
  EXPECT_EQ(Get(link, {Cookie(ann)}).body, "bound");
  for (const auto& [who, headers] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"no session", {}},
           {"another session of the same user", {Cookie(ann_elsewhere)}},
           {"another tenant's admin", {Cookie(gus)}},
           {"a forged cookie", {"Cookie: __Host-pactum_session=AAAA"}}}) {
    auto r = Get(link, headers);
    EXPECT_EQ(r.status, 403) << who;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "link_not_yours") << who;
  }
  // An API token's link is bound to that token.
  const auto ada = As("acme", "ada@example.com", auth::Role::kAdmin);
  auto token = Call("POST", "/api/v1/tokens",
                    R"({"name":"robot","role":"viewer","expires_in_days":1})", ada);
  ASSERT_EQ(token.status, 201) << token.body;
  const std::string bearer =
      "Authorization: Bearer " + std::string(nlohmann::json::parse(token.body)["token"]);
  const std::string robot_link = LinkPath({bearer}, nlohmann::json::parse(up.body)["id"]);
  EXPECT_EQ(Get(robot_link, {bearer}).status, 200);
  EXPECT_EQ(Get(robot_link, {Cookie(ada)}).status, 403);

  ASSERT_EQ(Call("PUT", "/api/v1/settings", R"({"links_bound_to_session":false})", ann).status, 403)
      << "settings are for admins";
  ASSERT_EQ(Call("PUT", "/api/v1/settings", R"({"links_bound_to_session":false})", ada).status,
            200);
  clock_.Advance(std::chrono::seconds(6));  // past the settings cache
  const std::string loose = LinkPath(ann, nlohmann::json::parse(up.body)["id"]);
  EXPECT_EQ(Get(loose).body, "bound") << "an unbound link works for whoever holds it";
}

TEST_F(DocumentApiTest, ALinkNamesThePublicUrlWhateverHostTheRequestNamed) {
  const auto ada = As("acme", "ada@example.com", auth::Role::kAdmin);
  const int64_t contract = NewContract(ada);
  auto up = Upload(ada, contract, "terms");
  const std::string path = "/api/v1/documents/" +
                           std::to_string(int64_t(nlohmann::json::parse(up.body)["id"])) + "/link";
  for (const std::vector<std::string>& host :
       {std::vector<std::string>{}, std::vector<std::string>{"Host: evil.example"}}) {
    std::vector<std::string> headers = ada;
    headers.insert(headers.end(), host.begin(), host.end());
    auto link = Call("POST", path, "", headers);
    ASSERT_EQ(link.status, 200) << link.body;
    const std::string url = nlohmann::json::parse(link.body)["url"];
    EXPECT_TRUE(url.starts_with(srv_.Url("/files/"))) << url;
  }
}

class PublicUrlTest : public DocumentApiTest {
 protected:
  void Configure(config::Config& config) override {
    config.server.public_url = "https://contracts.example.com";
    config.server.allowed_hosts = {"127.0.0.1"};  // the test client's Host
  }
};

TEST_F(PublicUrlTest, ALinkNamesTheConfiguredPublicUrl) {
  const auto ada = As("acme", "ada@example.com", auth::Role::kAdmin);
  auto up = Upload(ada, NewContract(ada), "terms");
  auto link = Call("POST",
                   "/api/v1/documents/" +
                       std::to_string(int64_t(nlohmann::json::parse(up.body)["id"])) + "/link",
                   "", ada);
  ASSERT_EQ(link.status, 200) << link.body;
  const std::string url = nlohmann::json::parse(link.body)["url"];
  EXPECT_TRUE(url.starts_with("https://contracts.example.com/files/")) << url;
  // Another host is refused before anything is done.
  auto elsewhere = Call("GET", "/api/v1/me", "", {ada[0], "Host: evil.example"});
  EXPECT_EQ(elsewhere.status, 421);
}

TEST_F(DocumentApiTest, ABoundLinkEndsWithItsSession) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  auto up = Upload(ann, contract, "until logout");
  const std::string link = LinkPath(ann, nlohmann::json::parse(up.body)["id"]);
  ASSERT_EQ(Get(link, {Cookie(ann)}).status, 200);
  ASSERT_EQ(Call("POST", "/api/v1/auth/logout", "", ann).status, 204);
  auto after = Get(link, {Cookie(ann)});
  EXPECT_EQ(after.status, 403);
  EXPECT_EQ(nlohmann::json::parse(after.body)["error"]["code"], "link_not_yours");
}

TEST_F(DocumentApiTest, TheIpAllowlistAppliesToDownloadsButOnlyToSignedLinks) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  auto up = Upload(ann, contract, "allowlisted");
  const std::string link = LinkPath(ann, nlohmann::json::parse(up.body)["id"]);
  const int64_t acme = tenants_->FindBySlug("acme")->id;
  ASSERT_TRUE(settings_
                  ->Update(testing_support::TestActor(), acme,
                           [](tenant::TenantSettings& s) {
                             s.ip_allowlist = {*IpNetwork::Parse("10.0.0.0/8")};
                             return Status::Ok();
                           })
                  .ok());
  auto refused = Get(link, {Cookie(ann)});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(nlohmann::json::parse(refused.body)["error"]["code"], "ip_not_allowed");
  // A forged link naming the tenant learns nothing of its allowlist: it is not signed.
  std::string forged = link.substr(7);
  forged[60] = forged[60] == 'A' ? 'B' : 'A';
  auto r = Get("/files/" + forged);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "link_invalid");
}

TEST_F(DocumentApiTest, AnUploadRefusedMidStreamAnswersAndTheServerCarriesOn) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  // 8 MiB of HTML: refused after the first 64 KiB while the rest is still arriving.
  std::string html = "<html><body>";
  html.resize(8U << 20, 'x');
  auto r = Upload(ann, contract, html, "page.pdf");
  EXPECT_EQ(r.status, 415) << r.error;
  EXPECT_EQ(Get("/api/v1/contracts/" + std::to_string(contract) + "/documents", ann).status, 200);
  EXPECT_EQ(Upload(ann, contract, "fine").status, 201);
}

TEST_F(DocumentApiTest, AnUploadTheDiskCannotHoldIs503DiskFullAndStoresNothing) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  const std::string documents = "/api/v1/contracts/" + std::to_string(contract) + "/documents";
  files_.FillUpAfter(256U << 10);  // the disk fills up part-way through the upload
  auto full = Upload(ann, contract, std::string(2U << 20, 'x'), "big.txt");
  EXPECT_EQ(full.status, 503) << full.body;
  EXPECT_EQ(nlohmann::json::parse(full.body)["error"]["code"], "disk_full");
  EXPECT_EQ(nlohmann::json::parse(Get(documents, ann).body)["documents"].size(), 0U);
  EXPECT_EQ(std::distance(std::filesystem::recursive_directory_iterator(srv_.dir.File("files")),
                          std::filesystem::recursive_directory_iterator()),
            256 + 2)
      << "only the shard directories and tmp/: no object, no temporary";
  // A failing fsync: the bytes are not durable, so no document either.
  files_.Heal();
  files_.Inject({.op = FsOp::kSync});
  EXPECT_EQ(Upload(ann, contract, "not durable").status, 500);
  EXPECT_EQ(nlohmann::json::parse(Get(documents, ann).body)["documents"].size(), 0U);
  files_.Heal();
  EXPECT_EQ(Upload(ann, contract, "fine").status, 201);
  EXPECT_EQ(nlohmann::json::parse(Get(documents, ann).body)["documents"].size(), 1U);
}

TEST_F(DocumentApiTest, ExpiredTamperedOrOrphanedLinksGiveNoContent) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  auto up = Upload(ann, contract, "secret terms");
  const int64_t id = nlohmann::json::parse(up.body)["id"];
  const std::string link = LinkPath(ann, id);
  const std::string token = link.substr(7);
  ASSERT_EQ(Get(link, {Cookie(ann)}).status, 200);

  std::vector<uint8_t> raw(85);
  size_t len = 0;
  ASSERT_EQ(sodium_base642bin(raw.data(), raw.size(), token.data(), token.size(), nullptr, &len,
                              nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
            0);
  auto encode = [](const std::vector<uint8_t>& bytes) {
    std::string out(
        sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(out.size() - 1);
    return out;
  };
  ASSERT_EQ(encode(raw), token);
  // Each field: format, tenant, document, user, key version, expiry, binding, signature.
  for (const auto& [field, offset] :
       std::vector<std::pair<std::string, size_t>>{{"format", 0},
                                                   {"tenant", 8},
                                                   {"document", 16},
                                                   {"user", 24},
                                                   {"key version", 28},
                                                   {"expiry", 33},
                                                   {"binding", 40},
                                                   {"signature", 60}}) {
    std::vector<uint8_t> changed = raw;
    changed[offset] ^= 0x01;
    auto r = Get("/files/" + encode(changed), {Cookie(ann)});
    EXPECT_EQ(r.status, 403) << field;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "link_invalid") << field;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << field;
  }
  for (const std::string& bad : {token.substr(0, token.size() - 1), token + "A", std::string("x"),
                                 std::string(token.size(), 'A')}) {
    auto r = Get("/files/" + bad, {Cookie(ann)});
    EXPECT_EQ(r.status, 403) << bad;
    EXPECT_EQ(r.body.find("secret"), std::string::npos);
  }
  // Another spelling of the same bytes is not the link: "+" for "-", a set spare bit in
  // the last character (which carries two bits of the 85 bytes).
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::vector<std::string> respelled = {token.substr(0, token.size() - 1) +
                                        kAlphabet[kAlphabet.find(token.back()) | 1]};
  if (const size_t dash = token.find('-'); dash != std::string::npos) {
    respelled.push_back(token.substr(0, dash) + "+" + token.substr(dash + 1));
    respelled.push_back(token.substr(0, dash) + "%2D" + token.substr(dash + 1));
  }
  // Percent-encoding decodes to the same token in the routed path: still not the link.
  static constexpr char kHex[] = "0123456789ABCDEF";
  const auto first = static_cast<unsigned char>(token[0]);
  respelled.push_back(std::string("%") + kHex[first >> 4] + kHex[first & 15] + token.substr(1));
  for (const std::string& bad : respelled) {
    auto r = Get("/files/" + bad, {Cookie(ann)});
    EXPECT_EQ(r.status, 403) << bad;
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "link_invalid") << bad;
    EXPECT_EQ(r.body.find("secret"), std::string::npos);
  }
  clock_.Advance(std::chrono::minutes(5));
  auto expired = Get(link, {Cookie(ann)});
  EXPECT_EQ(expired.status, 403);
  EXPECT_EQ(nlohmann::json::parse(expired.body)["error"]["code"], "link_expired");

  const std::string fresh = LinkPath(ann, id);
  ASSERT_EQ(Call("DELETE", "/api/v1/documents/" + std::to_string(id), "", ann).status, 204);
  auto replay = Get(fresh, {Cookie(ann)});
  EXPECT_EQ(replay.status, 404) << "a link outlives no deleted document";
  EXPECT_EQ(replay.body.find("secret"), std::string::npos);
}

TEST_F(DocumentApiTest, NoFileUnderTheDataDirectoryHoldsAnyPlaintext) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  std::vector<uint8_t> random(12);
  crypto::RandomBytes(random);
  std::string marker = "PACTUM-MARKER-";
  for (const uint8_t b : random) marker += static_cast<char>('a' + b % 26);
  const int64_t contract = NewContract(ann, "Contract " + marker);
  std::string content = "Confidential: " + marker + "\n";
  while (content.size() < 300'000)
    content += "clause " + std::to_string(content.size()) + " " + marker + "\n";
  auto up = Upload(ann, contract, content, marker + ".txt");
  ASSERT_EQ(up.status, 201);
  ASSERT_EQ(Get(LinkPath(ann, nlohmann::json::parse(up.body)["id"]), {Cookie(ann)}).body, content);
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(srv_.dir.path())) {
    if (!entry.is_regular_file()) continue;
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.find(marker), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find("Confidential"), std::string::npos) << entry.path();
  }
  EXPECT_GE(files, 3) << "the database, its WAL and the stored object were scanned";
}

TEST_F(DocumentApiTest, AnAlteredObjectNeverReachesTheClientAsContent) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  const std::string small = "small and whole: " + std::string(100'000, 's');
  std::string large = "large: ";
  while (large.size() < (3U << 20)) large += "l";
  auto up_small = Upload(ann, contract, small, "small.txt");
  auto up_large = Upload(ann, contract, large, "large.txt");
  ASSERT_EQ(up_small.status, 201);
  ASSERT_EQ(up_large.status, 201);
  auto flip = [&](const HttpResponse& up, uint64_t at) {
    auto d =
        documents_->Get(tenants_->FindBySlug("acme")->id, nlohmann::json::parse(up.body)["id"]);
    const std::string path = blobs_->PathOf(*blob::BlobId::Parse(d->blob_id));
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ 0x20));
  };
  // A file within the verified prefix: refused before a byte is sent.
  flip(up_small, 50'000);
  auto r = Get(LinkPath(ann, nlohmann::json::parse(up_small.body)["id"]), {Cookie(ann)});
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "data_loss");
  // A later chunk of a large file: the connection is cut, never completed.
  flip(up_large, 2U << 20);
  HttpRequest req;
  req.url = srv_.Url(LinkPath(ann, nlohmann::json::parse(up_large.body)["id"]));
  req.headers = {Cookie(ann)};
  req.ca_file = srv_.ca_file;
  req.keep_body = false;
  auto cut = Perform(req);
  EXPECT_TRUE(cut.status == 0 || !cut.error.empty()) << "the transfer must fail";
  EXPECT_LT(cut.body_bytes, large.size());
  EXPECT_LE(cut.body_bytes, (2U << 20)) << "nothing after the altered chunk";
}

// Sizes at the edges of the format and of the type check, and a large one, all through
// HTTPS: what comes back is what went up.
TEST_F(DocumentApiTest, EverySizeRoundTripsByteIdentical) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  const size_t chunk = crypto::kFileChunkBytes;
  for (const size_t size : {size_t{0}, size_t{1}, chunk - 1, chunk, chunk + 1, size_t{100} << 20}) {
    std::string content(size, ' ');
    for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>('a' + (i * 7 + i / 977) % 26);
    auto up = Upload(ann, contract, content, "size-" + std::to_string(size) + ".txt");
    ASSERT_EQ(up.status, 201) << size << ": " << up.body;
    const auto doc = nlohmann::json::parse(up.body);
    EXPECT_EQ(doc["size"], size);
    EXPECT_EQ(doc["sha256"], Sha256Hex(content));
    auto down = Get(LinkPath(ann, doc["id"]), {Cookie(ann)});
    EXPECT_EQ(down.status, 200) << size;
    EXPECT_EQ(down.body.size(), size);
    EXPECT_TRUE(down.body == content) << size;
    EXPECT_EQ(down.headers["content-length"], std::to_string(size));
  }
}

// The biggest case: a sparse source just over 1 GiB (the PDF signature, then zeros)
// streams up and down byte-identical while the process's memory stays flat.
TEST_F(DocumentApiTest, AFileOverOneGibRoundTripsInConstantMemory) {
  const auto ann = As("acme", "ann2@example.com", auth::Role::kManager);
  const int64_t contract = NewContract(ann);
  const uint64_t size = (1ULL << 30) + 1;
  const std::string path = srv_.dir.File("sparse.pdf");
  {
    std::ofstream f(path, std::ios::binary);
    f << "%PDF-1.4\n";
  }
  std::filesystem::resize_file(path, size);  // the rest is a hole
  const long rss_before = RssKib();
  long rss_peak = rss_before;
  uint64_t sampled = 0;
  auto sample = [&](uint64_t at) {  // every 64 MiB on the way up and down
    if (at - sampled < (64U << 20)) return;
    sampled = at;
    rss_peak = std::max(rss_peak, RssKib());
  };
  std::ifstream source(path, std::ios::binary);
  EVP_MD_CTX* up_hash = EVP_MD_CTX_new();
  EVP_DigestInit_ex(up_hash, EVP_sha256(), nullptr);
  HttpRequest r;
  r.method = "POST";
  r.url = srv_.Url("/api/v1/contracts/" + std::to_string(contract) + "/documents");
  r.headers = ann;
  r.headers.push_back("X-Filename: big.pdf");
  r.ca_file = srv_.ca_file;
  r.timeout_ms = 600'000;
  r.body_length = static_cast<int64_t>(size);
  uint64_t sent = 0;
  r.body_source = [&](char* buf, size_t max) -> size_t {
    source.read(buf, static_cast<std::streamsize>(max));
    const auto n = static_cast<size_t>(source.gcount());
    EVP_DigestUpdate(up_hash, buf, n);
    sent += n;
    sample(sent);
    return n;
  };
  auto up = Perform(r);
  ASSERT_EQ(up.status, 201) << up.body << up.error;
  uint8_t digest[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(up_hash, digest, &len);
  EVP_MD_CTX_free(up_hash);
  const std::string sent_hash = HexEncode(std::span<const uint8_t>(digest, len));
  const auto doc = nlohmann::json::parse(up.body);
  EXPECT_EQ(doc["size"], size);
  EXPECT_EQ(doc["sha256"], sent_hash);

  sampled = 0;
  std::ifstream again(path, std::ios::binary);
  std::vector<char> expected(1 << 20);
  uint64_t got = 0;
  bool same = true;
  HttpRequest down;
  down.url = srv_.Url(LinkPath(ann, doc["id"]));
  down.headers = {Cookie(ann)};
  down.ca_file = srv_.ca_file;
  down.timeout_ms = 600'000;
  down.keep_body = false;
  down.on_body = [&](const char* data, size_t n) {
    for (size_t done = 0; done < n;) {
      const size_t step = std::min(n - done, expected.size());
      again.read(expected.data(), static_cast<std::streamsize>(step));
      if (std::memcmp(expected.data(), data + done, step) != 0) same = false;
      done += step;
    }
    got += n;
    sample(got);
  };
  auto res = Perform(down);
  EXPECT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(got, size);
  EXPECT_TRUE(same);
  // Client and server share this process: 64 MiB would be a buffered fraction of a GiB.
  // Under AddressSanitizer freed blocks wait in its quarantine (32 MiB, set by `make
  // sanitize`) and every mapping brings an eighth more of shadow; a buffered GiB would
  // still be eight times over the bound.
  long bound_kib = 64L * 1024;
#if defined(__SANITIZE_ADDRESS__)
  bound_kib += 64L * 1024;
#endif
  EXPECT_LT(rss_peak - rss_before, bound_kib) << "KiB of growth";
}

}  // namespace
}  // namespace pactum

namespace pactum {
namespace {

// Default deny is only as good as the declarations: every route the server has is a
// declared endpoint, and only the few public ones are open without credentials.
TEST_F(DocumentApiTest, EveryRouteIsADeclaredEndpointAndOnlyTheKnownOnesArePublic) {
  const std::set<std::string> kPublic = {"/healthz",           "/metrics",
                                         "/api/v1/auth/login", "/api/v1/auth/mfa",
                                         "/files/{token}",     "/api/v1/openapi.json"};
  ASSERT_GT(srv_.router.routes().size(), 20U);
  for (const auto& route : srv_.router.routes()) {
    const api::Endpoint* e = endpoints_->Find(*route);
    ASSERT_NE(e, nullptr) << http::MethodName(route->method) << " " << route->pattern;
    const bool open = e->who == api::Who::kAnyone || e->who == api::Who::kLinkHolder;
    EXPECT_EQ(open, kPublic.count(route->pattern) == 1) << route->pattern;
  }
}

}  // namespace
}  // namespace pactum

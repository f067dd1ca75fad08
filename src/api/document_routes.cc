// Documents and their download links (DESIGN §3, §4, §5). Reads for every role; a `user`
// uploads to and deletes from contracts they own. A link lives the tenant's link_minutes
// (at most 60) and, when links_bound_to_session is on (the default), works only with the
// session or API token that made it. The download is the only way to a document's bytes:
// attachment, nosniff, no-store, Range supported.

#include <algorithm>
#include <charconv>
#include <cstring>
#include <future>

#include "api/routes.h"
#include "common/clock.h"
#include "document/content_type.h"

namespace pactum::api {
namespace {

// Bytes of a download decrypted (and so authenticated) before the answer starts: a file
// up to this size is either sent whole or not at all; a longer one whose later chunk
// turns out altered has its connection cut (the server's rule for a failing stream).
constexpr size_t kVerifiedPrefix = 1 << 20;

// The request body as a ByteSource.
class BodySource final : public ByteSource {
 public:
  explicit BodySource(http::BodyReader& reader) : reader_(reader) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    return reader_.Read(std::span<char>(reinterpret_cast<char*>(out.data()), out.size()));
  }

 private:
  http::BodyReader& reader_;
};

// The response body: what was verified up front, then the rest of the plaintext, `left`
// bytes in all. The server pulls it on its I/O thread, which also encrypts for TLS; the
// next MiB is read and decrypted on a thread of its own meanwhile, so the two overlap.
class DownloadSource final : public http::BodySource {
 public:
  DownloadSource(std::vector<uint8_t> prefix, std::unique_ptr<ByteSource> rest, uint64_t left)
      : current_(std::move(prefix)), rest_(std::move(rest)), left_(left) {
    to_fetch_ = left_ - current_.size();
    Prefetch();
  }
  // A std::async future waits for its task when destroyed: a response cut short ends only
  // after the MiB in progress (a millisecond) is done with `rest_`.
  ~DownloadSource() override = default;
  DownloadSource(const DownloadSource&) = delete;
  DownloadSource& operator=(const DownloadSource&) = delete;

  Result<size_t> Read(std::span<char> out) override {
    if (left_ == 0) return size_t{0};
    if (pos_ == current_.size()) {
      if (!next_.valid()) return DataLoss("the stored file is shorter than recorded");
      auto block = next_.get();
      if (!block.ok()) return block.status();
      current_ = std::move(block).value();
      pos_ = 0;
      Prefetch();
    }
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>({out.size(), current_.size() - pos_, left_}));
    std::memcpy(out.data(), current_.data() + pos_, n);
    pos_ += n;
    left_ -= n;
    return n;
  }

 private:
  static constexpr size_t kBlock = 1 << 20;

  void Prefetch() {
    if (to_fetch_ == 0) return;
    const auto size = static_cast<size_t>(std::min<uint64_t>(kBlock, to_fetch_));
    to_fetch_ -= size;
    next_ = std::async(std::launch::async, [this, size]() -> Result<std::vector<uint8_t>> {
      std::vector<uint8_t> block(size);
      ASSIGN_OR_RETURN(const size_t got, ReadFull(*rest_, block));
      if (got != size) return DataLoss("the stored file is shorter than recorded");
      return block;
    });
  }

  std::vector<uint8_t> current_;
  size_t pos_ = 0;
  std::unique_ptr<ByteSource> rest_;  // used by one prefetch at a time
  uint64_t left_;                     // bytes still to hand out
  uint64_t to_fetch_ = 0;             // bytes not yet prefetched
  std::future<Result<std::vector<uint8_t>>> next_;
};

// X-Filename, percent-decoded when it is percent-encoded (browsers cannot send other
// than ASCII in a header), then sanitised.
std::string FilenameFrom(std::string_view header) {
  std::string decoded;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] != '%') {
      decoded += header[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= header.size() ||
        std::from_chars(header.data() + i + 1, header.data() + i + 3, value, 16).ptr !=
            header.data() + i + 3) {
      return document::SanitizeFilename(header);  // not percent-encoding: take it as is
    }
    decoded += static_cast<char>(value);
    i += 2;
  }
  return document::SanitizeFilename(decoded);
}

// Content-Disposition for a stored (already sanitised) name: an ASCII fallback and the
// UTF-8 name (RFC 6266, RFC 8187).
std::string Disposition(const std::string& name) {
  std::string ascii;
  std::string encoded;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != ';') ? ch : '_';
    if (std::isalnum(c) != 0 || std::strchr("!#$&+-.^_`|~", ch) != nullptr) {
      encoded += ch;
    } else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

// A single "bytes=a-b" | "bytes=a-" | "bytes=-n" range of a `size`-byte file. nullopt
// means "send it all" (no Range, or one we do not serve, such as several ranges);
// kFailedPrecondition "range_not_satisfiable" for a range outside the file.
Result<std::optional<ByteRange>> ParseRange(std::string_view h, uint64_t size) {
  if (h.empty()) return std::optional<ByteRange>();
  if (!h.starts_with("bytes=") || h.find(',') != std::string_view::npos) {
    return std::optional<ByteRange>();
  }
  h.remove_prefix(6);
  const size_t dash = h.find('-');
  if (dash == std::string_view::npos) return std::optional<ByteRange>();
  // Digits only; a number too large for 64 bits counts as the largest one (a range may
  // run past the end of the file).
  auto number = [](std::string_view s, uint64_t& v) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) v = UINT64_MAX;
    return ptr == s.data() + s.size();
  };

  const Status unsatisfiable =
      Status(StatusCode::kFailedPrecondition, "the range is outside the file")
          .WithReason("range_not_satisfiable");
  uint64_t a = 0;
  uint64_t b = 0;
  ByteRange r;
  if (dash == 0) {  // the last b bytes
    if (!number(h.substr(1), b)) return std::optional<ByteRange>();
    if (b == 0 || size == 0) return unsatisfiable;
    r.first = size - std::min(b, size);
    r.last = size - 1;
    return std::optional<ByteRange>(r);
  }
  if (!number(h.substr(0, dash), a)) return std::optional<ByteRange>();
  const std::string_view tail = h.substr(dash + 1);
  if (tail.empty()) {
    b = size == 0 ? 0 : size - 1;
  } else if (!number(tail, b) || b < a) {
    return std::optional<ByteRange>();
  }
  if (a >= size) return unsatisfiable;
  r.first = a;
  r.last = std::min(b, size - 1);
  return std::optional<ByteRange>(r);
}

http::Response Download(document::DocumentService& documents, const document::Document& d,
                        const http::Request& req) {
  const auto size = static_cast<uint64_t>(d.size);
  auto range = ParseRange(req.Header("Range"), size);
  if (!range.ok()) {
    auto r = http::Response::Error(range.status());
    r.status = 416;
    r.headers.push_back({"Content-Range", "bytes */" + std::to_string(size)});
    return r;
  }
  const uint64_t first = *range ? (*range)->first : 0;
  const uint64_t length = *range ? (*range)->last - first + 1 : size;
  auto plain = documents.Open(d, first);
  if (!plain.ok()) return http::Response::Error(plain.status());
  // Authenticate the start before answering: header, key, first chunks.
  std::vector<uint8_t> prefix(static_cast<size_t>(std::min<uint64_t>(length, kVerifiedPrefix)));
  auto got = ReadFull(**plain, prefix);
  if (!got.ok()) return http::Response::Error(got.status());
  if (*got != prefix.size()) {
    return http::Response::Error(DataLoss("the stored file is shorter than recorded"));
  }
  http::Response r;
  r.status = *range ? 206 : 200;
  r.content_type = d.media_type;
  r.headers.push_back({"Content-Disposition", Disposition(d.name)});
  r.headers.push_back({"Accept-Ranges", "bytes"});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  r.headers.push_back({"Cache-Control", "no-store"});
  if (*range) {
    r.headers.push_back({"Content-Range", "bytes " + std::to_string(first) + "-" +
                                              std::to_string((*range)->last) + "/" +
                                              std::to_string(size)});
  }
  if (length == prefix.size()) {
    r.body.assign(prefix.begin(), prefix.end());
    return r;
  }
  r.stream = std::make_unique<DownloadSource>(std::move(prefix), std::move(plain).value(), length);
  r.stream_length = length;
  return r;
}

std::vector<FieldSpec> DocumentFields() {
  return {
      Field("id", Json::kInteger).Required(),
      Field("contract_id", Json::kInteger).Required(),
      Field("name", Json::kString)
          .Required()
          .Describe("the file name, made safe")
          .Example(R"("lease.pdf")"),
      Field("version", Json::kInteger).Required().Describe("1, 2 ... per name within a contract"),
      Field("media_type", Json::kString)
          .Required()
          .Describe("from the content")
          .Example(R"("application/pdf")"),
      Field("size", Json::kInteger).Required().Describe("bytes"),
      Field("sha256", Json::kString).Required().Describe("of the content, hex"),
      Field("uploaded_by", Json::kInteger).Required(),
      Field("created_at", Json::kString).Required().Format("date-time"),
  };
}

}  // namespace

void AddDocumentEndpoints(EndpointTable& api, document::DocumentService& documents) {
  const AuthDeps& auth = api.deps();
  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/contracts/{id}/documents",
      .group = "Documents",
      .summary = "Upload a document to a contract (the raw bytes as the body)",
      .description =
          "Streamed and encrypted as it arrives; any size up to limits.max_upload_bytes. The "
          "type is taken from the content and must be one the server allows. A second upload "
          "of the same name becomes its next version.",
      .who = Who::kUser,
      .body = BodyKind::kStream,
      .headers = {Field("X-Filename", Json::kString)
                      .Describe("the file name (percent-encoded UTF-8 allowed); metadata only")
                      .Example(R"("lease.pdf")")},
      .success = 201,
      .response = {DocumentFields()},
      .errors = {{403, "not_owner", "a user uploads only to their own contracts"},
                 {404, "not_found", "no such contract in the tenant"},
                 {413, "payload_too_large", "larger than limits.max_upload_bytes"},
                 {415, "unsupported_type", "content of a type the server does not accept"},
                 {503, "disk_full", "the storage is full"}},
      .audit = {"document.upload"},
      .handler =
          [&documents](Call& call) {
            const Principal& p = call.caller();
            const int64_t contract_id = call.Id();
            // Refused before a byte of the body is read.
            if (Status s = documents.CheckContract(p.user.tenant_id, contract_id, OnlyOwner(p));
                !s.ok()) {
              return http::Response::Error(s);
            }
            BodySource body(*call.request.body_reader);
            auto d = documents.Upload(call.actor(), p.user.tenant_id, contract_id, p.user.id,
                                      OnlyOwner(p), FilenameFrom(call.request.Header("X-Filename")),
                                      body);
            if (!d.ok()) return http::Response::Error(d.status());
            auto r = http::Response::Json(201, document::ToJson(*d));
            r.headers.push_back({"Location", "/api/v1/documents/" + std::to_string(d->id)});
            return r;
          },
  });

  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/contracts/{id}/documents",
      .group = "Documents",
      .summary = "Every document version of a contract",
      .who = Who::kViewer,
      .response = {{Field("documents", Json::kArray)
                        .Required()
                        .Items(Json::kObject)
                        .Fields(DocumentFields())}},
      .errors = {{404, "not_found", "no such contract in the tenant"}},
      .handler =
          [&documents](Call& call) {
            auto list = documents.List(call.caller().user.tenant_id, call.Id());
            if (!list.ok()) return http::Response::Error(list.status());
            auto out = nlohmann::json::array();
            for (const auto& d : *list) out.push_back(document::ToJson(d));
            return http::Response::Json(200, {{"documents", out}});
          },
  });

  api.Add({
      .method = http::Method::kGet,
      .path = "/api/v1/documents/{id}",
      .group = "Documents",
      .summary = "One document version's metadata",
      .who = Who::kViewer,
      .response = {DocumentFields()},
      .errors = {{404, "not_found", "no such document in the tenant"}},
      .handler =
          [&documents](Call& call) {
            auto d = documents.Get(call.caller().user.tenant_id, call.Id());
            if (!d.ok()) return http::Response::Error(d.status());
            return http::Response::Json(200, document::ToJson(*d));
          },
  });

  api.Add({
      .method = http::Method::kDelete,
      .path = "/api/v1/documents/{id}",
      .group = "Documents",
      .summary = "Delete a document version",
      .who = Who::kUser,
      .success = 204,
      .errors = {{403, "not_owner", "a user deletes only from their own contracts"},
                 {404, "not_found", "no such document in the tenant"}},
      .audit = {"document.delete"},
      .handler =
          [&documents](Call& call) {
            const Principal& p = call.caller();
            if (Status s =
                    documents.Delete(call.actor(), p.user.tenant_id, call.Id(), OnlyOwner(p));
                !s.ok()) {
              return http::Response::Error(s);
            }
            return NoContent();
          },
  });

  api.Add({
      .method = http::Method::kPost,
      .path = "/api/v1/documents/{id}/link",
      .group = "Documents",
      .summary = "A short-lived download link to a document",
      .description = "The link is valid for the tenant's link_minutes (at most 60); with "
                     "links_bound_to_session it works only with the caller's session or token.",
      .who = Who::kViewer,
      .response = {{
          Field("url", Json::kString).Required().Format("uri"),
          Field("expires_at", Json::kString).Required().Format("date-time"),
          Field("bound_to_session", Json::kBoolean).Required(),
      }},
      .errors = {{404, "not_found", "no such document in the tenant"}},
      .audit = {"document.link"},
      .handler =
          [&documents, &auth](Call& call) {
            const Principal& p = call.caller();
            const auto& settings = *p.settings;
            const std::string credential = settings.links_bound_to_session ? CredentialOf(p) : "";
            const int64_t id = call.Id();
            auto link =
                documents.MakeLink(p.user.tenant_id, id, p.user.id, credential,
                                   std::clamp<int64_t>(settings.link_minutes, 1,
                                                       document::DocumentService::kMaxLinkMinutes));
            if (!link.ok()) return http::Response::Error(link.status());
            audit::Event e{.action = "document.link", .target = "document:" + std::to_string(id)};
            e.details = {{"expires_at", link->expires_at},
                         {"bound_to_session", !credential.empty()}};
            e.actor = call.actor();
            if (auto refused = RecordOrRefuse(auth.audit, e)) return std::move(*refused);
            // From the configured public URL, never the request's Host: a forged Host
            // must not make the server hand out links to another site.
            return http::Response::Json(
                200, {{"url", std::string(call.request.public_url) + "/files/" + link->token},
                      {"expires_at", FormatRfc3339(std::chrono::system_clock::time_point(
                                         std::chrono::seconds(link->expires_at)))},
                      {"bound_to_session", !credential.empty()}});
          },
  });

  api.Add({
      .method = http::Method::kGet,
      .path = "/files/{token}",
      .group = "Documents",
      .summary = "The document's bytes, for the holder of a valid link",
      .description = "Content-Disposition: attachment; Range requests are served. Every "
                     "download and every refused link is recorded before anything is answered.",
      .who = Who::kLinkHolder,
      .headers = {Field("Range", Json::kString).Describe("one range: bytes=a-b, a- or -n")},
      .produces = "application/octet-stream",
      .errors = {{403, "link_invalid", "the link is forged, altered or its document gone"},
                 {403, "link_expired", "the link has expired: ask for a new one"},
                 {403, "link_not_yours", "the link is bound to another session or token"},
                 {404, "not_found", "the document is gone"},
                 {416, "range_not_satisfiable", "the range is outside the file"}},
      .audit = {"document.download"},
      .handler =
          [&documents, &auth](Call& call) {
            const http::Request& req = call.request;
            // Every download and every refused link is recorded before anything is
            // answered; when that cannot be done the answer is 503 and no byte leaves.
            audit::Event e{.action = "document.download"};
            e.actor = call.actor();
            const auto refuse = [&](const Status& s) {
              audit::MarkFailed(e, s.reason().empty() ? std::string("refused") : s.reason());
              if (auto refused = RecordOrRefuse(auth.audit, e)) return std::move(*refused);
              return http::Response::Error(s);
            };
            // Nothing of a link is used before its signature is checked (a forged link is
            // recorded in the platform's chain).
            // As the client spelled it: the routed path is percent-decoded, and a link has
            // one spelling only.
            auto link = documents.Verify(req.RawPath().substr(std::string_view("/files/").size()));
            if (!link.ok()) return refuse(link.status());
            e.actor.tenant_id = link->claims.tenant_id;
            e.actor.user_id = link->claims.user_id;
            e.target = "document:" + std::to_string(link->claims.document_id);
            // The tenant's allowlist applies to downloads too (fail closed).
            auto settings = auth.settings.Get(link->claims.tenant_id);
            if (!settings.ok()) return http::Response::Error(settings.status());
            if (!AddressAllowed(**settings, req.remote_ip)) return refuse(IpNotAllowed());
            auto d = documents.Redeem(*link, CredentialOf(auth, req));
            if (!d.ok()) return refuse(d.status());
            http::Response r = Download(documents, *d, req);
            e.details = {{"status", r.status}};
            if (r.status >= 400) {
              audit::MarkFailed(e, r.status == 416 ? "range_not_satisfiable" : "unreadable");
            }
            if (const std::string_view range = req.Header("Range"); !range.empty()) {
              e.details["range"] = std::string(range.substr(0, 100));
            }
            if (auto refused = RecordOrRefuse(auth.audit, e)) return std::move(*refused);
            return r;
          },
  });
}

}  // namespace pactum::api

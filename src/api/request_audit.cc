#include "api/request_audit.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "api/caller.h"

namespace pactum::api {
namespace {

// Route parameters whose values are credentials.
constexpr std::array<std::string_view, 1> kSecretParams = {"{token}"};

// Beyond these an event's details could outgrow what the log keeps of them.
constexpr size_t kMaxPathBytes = 1024;
constexpr size_t kMaxQueryKeys = 32;
constexpr size_t kMaxMethodBytes = 32;
constexpr size_t kMaxUserAgentBytes = 512;
// A query parameter's name longer than this is no name but data (a token pasted as
// "?pct_…"): it is stored as its HMAC.
constexpr size_t kMaxQueryKeyBytes = 32;

bool IsParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Calls fn(index, segment) for each segment of an absolute path ("/a/b": "a", "b") until
// it returns false.
template <class Fn>
void ForEachSegment(std::string_view path, Fn&& fn) {
  size_t index = 0;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (!fn(index++, path.substr(start, slash - start))) return;
    start = slash + 1;
  }
}

std::string Truncated(std::string_view s, size_t max) { return std::string(s.substr(0, max)); }

void AppendHex4(std::string& out, uint32_t u) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(u >> shift) & 0xf];
}

// The length of the UTF-8 sequence at the start of `s` and its code point, or 0 when it
// is not one (bad lead byte, cut short, overlong, a surrogate, beyond U+10FFFF).
size_t DecodeUtf8(std::string_view s, uint32_t& cp) {
  const auto lead = static_cast<unsigned char>(s[0]);
  size_t len = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2;
    cp = lead & 0x1fU;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    cp = lead & 0x0fU;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    cp = lead & 0x07U;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if ((c & 0xc0U) != 0x80U) return 0;
    cp = (cp << 6) | (c & 0x3fU);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
    return 0;
  }
  return len;
}

// Appends `s` as a JSON string in printable ASCII, as the log stores details: quote and
// backslash escaped, every other character outside 0x20-0x7e (controls, DEL, anything
// non-ASCII) as \u escapes (surrogate pairs beyond U+FFFF), each byte of invalid UTF-8
// as U+FFFD.
void AppendString(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0x80) {
      len = DecodeUtf8(s.substr(i), cp);
      if (len == 0) {
        cp = 0xfffd;
        len = 1;
      }
    }
    if (cp > 0xffff) {
      cp -= 0x10000;
      AppendHex4(out, 0xd800 + (cp >> 10));
      AppendHex4(out, 0xdc00 + (cp & 0x3ff));
    } else {
      AppendHex4(out, cp);
    }
    i += len;
  }
  out += '"';
}

// A JSON object written straight into one string in printable ASCII: no tree, one
// allocation. The request stream makes an event or two for every request, on the I/O
// threads.
class AsciiJson {
 public:
  AsciiJson() {
    out_.reserve(256);
    out_ += '{';
  }
  AsciiJson& String(std::string_view key, std::string_view value) {
    Key(key);
    AppendString(out_, value);
    return *this;
  }
  template <class Int>
  AsciiJson& Number(std::string_view key, Int value) {
    Key(key);
    std::array<char, 24> buf{};
    const auto end = std::to_chars(buf.data(), buf.data() + buf.size(), value).ptr;
    out_.append(buf.data(), end);
    return *this;
  }
  void BeginArray(std::string_view key) {
    Key(key);
    out_ += '[';
  }
  void Element(std::string_view value) {
    if (out_.back() != '[') out_ += ',';
    AppendString(out_, value);
  }
  void EndArray() { out_ += ']'; }
  std::string Take() && {
    out_ += '}';
    return std::move(out_);
  }

 private:
  void Key(std::string_view key) {  // our own names: plain ASCII
    if (out_.size() > 1) out_ += ',';
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }
  std::string out_;
};

}  // namespace

RequestAudit::RequestAudit(audit::RequestRecorder& recorder, const audit::SqlAuditLog& log,
                           const http::Router& router)
    : recorder_(recorder), log_(log) {
  for (const auto& route : router.routes()) {
    const auto& segments = route->segments;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (std::find(kSecretParams.begin(), kSecretParams.end(), segments[i]) ==
          kSecretParams.end()) {
        continue;
      }
      SecretSegment secret{{segments.begin(), segments.begin() + static_cast<ptrdiff_t>(i)}, i};
      const bool known = std::any_of(secrets_.begin(), secrets_.end(), [&](const auto& s) {
        return s.index == secret.index && s.pattern == secret.pattern;
      });
      if (!known) secrets_.push_back(std::move(secret));
    }
  }
}

std::string RequestAudit::LoggedPath(std::string_view path) const {
  // Which segments hold secrets: those after a prefix some secret route starts with.
  std::vector<size_t> secret_indexes;
  for (const SecretSegment& secret : secrets_) {
    bool matches = false;
    ForEachSegment(path, [&](size_t i, std::string_view segment) {
      if (segment.empty()) return false;
      if (i == secret.index) {
        matches = true;
        return false;
      }
      return IsParam(secret.pattern[i]) || segment == secret.pattern[i];
    });
    if (matches) secret_indexes.push_back(secret.index);
  }
  if (secret_indexes.empty()) return Truncated(path, kMaxPathBytes);
  std::string out;
  ForEachSegment(path, [&](size_t i, std::string_view segment) {
    out += '/';
    if (std::find(secret_indexes.begin(), secret_indexes.end(), i) != secret_indexes.end()) {
      out += log_.Redact(segment);
    } else {
      out += segment;
    }
    return true;
  });
  return Truncated(out, kMaxPathBytes);
}

Status RequestAudit::Admit(const http::Request& /*request*/) { return recorder_.Admit(); }

void RequestAudit::Finished(const http::Request& req, const http::Route* route,
                            const http::RequestOutcome& outcome) {
  const Principal* caller = CallerOf(req);
  // `details` null instead of its default empty object (an allocation): details_json
  // stands in for it.
  audit::Event event{.stream = audit::Stream::kRequest,
                     .action = "http.request",
                     .target = route != nullptr ? route->pattern : "unmatched",
                     .success = outcome.status < 400,
                     .details = nullptr};
  audit::Actor& actor = event.actor;
  if (caller != nullptr) {
    actor.tenant_id = caller->user.tenant_id;
    actor.user_id = caller->user.id;
    actor.token_id = caller->token_id;
  }
  actor.ip = req.remote_ip;
  // The details are written here, request id and user agent included (where the log would
  // put the actor's), so that the log stores them as they are.
  const std::string_view method = std::string_view(req.method_text).substr(0, kMaxMethodBytes);
  const auto duration_us =
      std::chrono::duration_cast<std::chrono::microseconds>(outcome.duration).count();
  AsciiJson d;
  d.String("method", method).String("path", LoggedPath(req.path));
  if (!req.query.empty()) {
    d.BeginArray("query_keys");
    std::string_view query = req.query;
    for (size_t n = 0; !query.empty() && n < kMaxQueryKeys;) {
      const size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      const std::string_view key = pair.substr(0, pair.find('='));
      if (!key.empty()) {
        d.Element(key.size() > kMaxQueryKeyBytes ? log_.Redact(key) : key);
        ++n;
      }
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    }
    d.EndArray();
  }
  d.Number("status", outcome.status)
      .Number("bytes_in", outcome.bytes_in)
      .Number("bytes_out", outcome.bytes_out)
      .Number("duration_us", duration_us);
  if (req.peer_ip != req.remote_ip) d.String("peer_ip", req.peer_ip);
  d.String("request_id", req.request_id);
  if (const std::string_view agent = req.Header("User-Agent"); !agent.empty()) {
    d.String("user_agent", agent.substr(0, kMaxUserAgentBytes));
  }
  event.details_json = std::move(d).Take();

  if (caller != nullptr && caller->token_id != 0) {
    audit::Event call{.stream = audit::Stream::kApi,
                      .action = "api.call",
                      .target = event.target,
                      .success = event.success,
                      .details = nullptr,
                      .actor = actor};
    AsciiJson c;  // the user agent is in the request event, found by the request id
    c.Number("token_id", caller->token_id)
        .String("method", method)
        .Number("status", outcome.status)
        .Number("bytes_in", outcome.bytes_in)
        .Number("bytes_out", outcome.bytes_out)
        .String("request_id", req.request_id);
    call.details_json = std::move(c).Take();
    recorder_.Add(std::move(event));
    recorder_.Add(std::move(call));
    return;
  }
  recorder_.Add(std::move(event));
}

}  // namespace pactum::api

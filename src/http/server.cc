#include "http/server.h"

// <utility> before asio's awaitable.hpp (Boost 1.74 + GCC 12 + C++20).
#include <utility>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "common/host.h"
#include "common/ip_network.h"
#include "common/log.h"
#include "crypto/random.h"
#include "http/client_address.h"
#include "http/error_mapping.h"
#include "http/framing.h"
#include "http/path.h"

namespace pactum::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr const char* kComponent = "http";
constexpr size_t kMaxStatus = 600;
constexpr size_t kStreamChunk = size_t{64} * 1024;
constexpr size_t kIdleBufferKeep = 4096;
// The status a request ends with when its client went away before it could be answered
// (nginx's convention); never sent.
constexpr int kClientClosed = 499;
// What a request carries into a log line is cut to this many bytes (a method or target
// may be as long as limits.max_header_bytes).
constexpr size_t kMaxLogged = 256;

// `text` for a log line, cut to kMaxLogged bytes with the full length noted.
std::string Bounded(std::string_view text) {
  if (text.size() <= kMaxLogged) return std::string(text);
  return std::string(text.substr(0, kMaxLogged)) + "...(" + std::to_string(text.size()) + " bytes)";
}

bool IsValidRequestId(std::string_view id) {
  if (id.size() < 8 || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string NormalizedIp(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

bool IsClosedByPeer(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted || ec == beast::error::timeout ||
         ec == asio::error::broken_pipe;
}

// Maps a Beast parse error to the client-facing Status.
Status ParseErrorStatus(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit) {
    return {StatusCode::kRequestHeadersTooLarge, "request headers too large"};
  }
  if (ec == bhttp::error::body_limit)
    return {StatusCode::kPayloadTooLarge, "request body too large"};
  return InvalidArgument("malformed HTTP request");
}

using HeadParser = bhttp::request_parser<bhttp::empty_body>;

// Cancels the reads pending on a stream once `timeout` has passed, without closing it: a
// Beast stream timeout closes the socket, and then the client could not be told 408. On
// the stream's I/O thread; disarmed when destroyed.
class ReadDeadline {
 public:
  ReadDeadline(beast::tcp_stream& stream, milliseconds timeout)
      : timer_(stream.get_executor(), timeout), state_(std::make_shared<State>()) {
    // The handler may run after this object is gone (it is cancelled, not waited for): it
    // shares only the state, and touches the stream only while armed.
    timer_.async_wait([&stream, state = state_](const beast::error_code& ec) {
      if (ec || state->disarmed) return;
      state->fired = true;
      stream.cancel();
    });
  }
  ~ReadDeadline() {
    state_->disarmed = true;
    timer_.cancel();
  }
  ReadDeadline(const ReadDeadline&) = delete;
  ReadDeadline& operator=(const ReadDeadline&) = delete;

  // True when the deadline cancelled the reads.
  bool fired() const { return state_->fired; }

 private:
  struct State {
    bool fired = false;
    bool disarmed = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

// One client connection: the TLS stream, its read buffer and the peer. Owned by the
// connection's coroutine, used only on its io_context.
struct Connection {
  Connection(tcp::socket socket, asio::ssl::context& tls, const std::string& peer,
             size_t buffer_limit)
      : stream(std::move(socket), tls), buffer(buffer_limit), ip(peer) {}
  TlsStream stream;
  // Bounded: Beast 1.74 puts no limit on a chunk-size line (extensions), so an unbounded
  // buffer would grow for as long as a client keeps sending one. Room for a full head
  // plus a streaming chunk; overflow is a 400.
  beast::flat_buffer buffer;
  const std::string& ip;  // the TCP peer; outlives the connection
  bool first = true;      // no request yet: the wait for one runs under the header timeout
};

// One request on a connection and what is decided about its answer, passed from step to
// step of Server::Impl::RunConnection.
struct Exchange {
  explicit Exchange(size_t unmatched_route) : route_index(unmatched_route) {}
  Request req;
  Response res;
  const Route* route = nullptr;  // null until routed, and for unmatched requests
  size_t route_index;            // for the metrics: the route's, or "unmatched"
  SteadyClock::time_point start = SteadyClock::now();
  uint64_t bytes_in = 0;
  bool answered = false;      // `res` is the answer: nothing else runs for this request
  bool keep_alive = false;    // as the client asked; cleared when the connection must close
  bool has_body = false;      // Content-Length > 0 or chunked
  bool body_consumed = true;  // every body byte read: the next request starts after it
  bool folded = false;        // the head had an obs-fold line
  bool client_gone = false;   // the client went away before it could be answered
};

// Answers the exchange with the error for `s`; with `close` the connection then closes.
void Refuse(Exchange& x, const Status& s, bool close) {
  x.res = Response::Error(s);
  x.answered = true;
  if (close) x.keep_alive = false;
}

// Per-connection state visible to Shutdown(); touched only on the connection's io_context.
struct ConnectionState {
  beast::tcp_stream* stream = nullptr;
  bool busy = false;  // between a complete request head and the end of its response
};

struct ContextSlot {
  // Declared before `io`: destroying `io` destroys suspended connection coroutines, whose
  // clean-up erases themselves from this set.
  std::unordered_set<ConnectionState*> connections;  // only on io's thread
  asio::io_context io{1};
};

size_t WorkerThreads(const config::ServerConfig& s) {
  return static_cast<size_t>(s.worker_threads > 0
                                 ? s.worker_threads
                                 : std::max(2U, 2 * std::thread::hardware_concurrency()));
}

size_t CpuThreads(const config::ServerConfig& s) {
  return static_cast<size_t>(
      s.cpu_threads > 0 ? s.cpu_threads : std::max(1U, std::thread::hardware_concurrency() / 2));
}

}  // namespace

struct Server::Impl {
  Impl(const config::ServerConfig& s, const config::LimitsConfig& l, const Router& r,
       MetricsRegistry& m, RequestObserver* o)
      : server_config(s),
        limits(l),
        router(r),
        metrics(m),
        observer(o),
        workers(WorkerThreads(s)),
        cpu_threads(CpuThreads(s)),
        cpu_pool(cpu_threads),
        open_gauge(m.GetGauge("pactum_http_open_connections", "Open client connections")),
        rejected(m.GetCounter("pactum_http_rejected_connections_total",
                              "Connections closed at accept because of connection limits")),
        cpu_queue(m.GetGauge("pactum_http_cpu_queue",
                             "CPU-heavy requests (password hashing) queued or running")),
        cpu_busy(m.GetCounter("pactum_http_cpu_busy_total",
                              "CPU-heavy requests answered 503 because limits.max_cpu_queue "
                              "were queued or running")),
        route_metrics(r.routes().size() + 1) {
    for (const auto& net : s.trusted_proxies) {
      // Validated with the config; an entry that does not parse trusts nobody.
      if (auto parsed = IpNetwork::Parse(net); parsed.ok()) trusted_proxies.push_back(*parsed);
    }
    const size_t n = s.io_threads > 0 ? static_cast<size_t>(s.io_threads)
                                      : std::max(1U, std::thread::hardware_concurrency());
    for (size_t i = 0; i < n; ++i) slots.push_back(std::make_unique<ContextSlot>());
    for (size_t i = 0; i < route_metrics.size(); ++i) {
      const std::string label =
          "route=\"" +
          MetricsRegistry::EscapeLabel(i < r.routes().size() ? r.routes()[i]->pattern
                                                             : std::string("unmatched")) +
          "\"";
      route_metrics[i].label = label;
      route_metrics[i].latency =
          &m.GetHistogram("pactum_http_request_seconds", "Request latency in seconds", label);
    }
  }

  ~Impl() {
    // Destroying a context destroys the coroutines still suspended on it, whose clean-up
    // touches the members below: contexts go first, while those still exist.
    acceptor.reset();
    redirect_acceptor.reset();
    slots.clear();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  struct RouteMetrics {
    std::string label;
    Histogram* latency = nullptr;
    std::array<std::atomic<Counter*>, kMaxStatus> by_status{};
  };

  void Record(size_t route_index, int status, SteadyClock::time_point start) {
    auto& rm = route_metrics[route_index];
    rm.latency->Observe(std::chrono::duration<double>(SteadyClock::now() - start).count());
    const auto s = static_cast<size_t>(std::clamp(status, 0, static_cast<int>(kMaxStatus) - 1));
    Counter* c = rm.by_status[s].load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &metrics.GetCounter("pactum_http_requests_total", "HTTP requests by route and status",
                              rm.label + ",status=\"" + std::to_string(status) + "\"");
      rm.by_status[s].store(c, std::memory_order_release);
    }
    c->Add();
  }

  // Tells the observer how a request ended.
  void Finish(const Request& req, const Route* route, int status, uint64_t bytes_in,
              uint64_t bytes_out, SteadyClock::time_point start) const {
    if (observer == nullptr) return;
    observer->Finished(req, route,
                       {.status = status,
                        .bytes_in = bytes_in,
                        .bytes_out = bytes_out,
                        .duration = SteadyClock::now() - start});
  }

  std::shared_ptr<asio::ssl::context> CurrentTls() {
    std::lock_guard lock(tls_mu);
    return tls;
  }

  bool AcquireConnection(const std::string& ip) {
    std::lock_guard lock(ip_mu);
    if (open_connections.load() >= limits.max_connections) return false;
    int64_t& count = per_ip[ip];
    if (count >= limits.max_connections_per_ip) {
      if (count == 0) per_ip.erase(ip);
      return false;
    }
    ++count;
    open_connections.fetch_add(1);
    open_gauge.Add(1);
    return true;
  }

  void ReleaseConnection(const std::string& ip) {
    std::lock_guard lock(ip_mu);
    if (auto it = per_ip.find(ip); it != per_ip.end() && --it->second <= 0) per_ip.erase(it);
    open_connections.fetch_sub(1);
    open_gauge.Add(-1);
  }

  // Adds the headers every response carries.
  template <class Fields>
  void AddStandardHeaders(Fields& f, const Request& req, const Response& res) const {
    f.set(bhttp::field::strict_transport_security, "max-age=63072000; includeSubDomains");
    f.set("Content-Security-Policy",
          "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'");
    f.set("X-Frame-Options", "DENY");  // frame-ancestors, for browsers without CSP 2
    f.set("X-Content-Type-Options", "nosniff");
    f.set("Referrer-Policy", "no-referrer");
    f.set(bhttp::field::cache_control, "no-store");
    f.set("X-Request-Id", req.request_id);
    f.set(bhttp::field::content_type, res.content_type);
    for (const auto& h : res.headers) {
      // Beast 1.74 does not reject CR/LF in field values: never let a handler split headers.
      if (h.name.find_first_of("\r\n:\0", 0, 4) != std::string::npos ||
          h.value.find_first_of("\r\n\0", 0, 3) != std::string::npos) {
        log::Error(kComponent, "dropped a response header with control characters",
                   {{"request_id", req.request_id}, {"header", Bounded(h.name)}});
        continue;
      }
      f.set(h.name, h.value);
    }
  }

  // The client's address for a request from `peer_ip` (see ClientAddress).
  std::string ClientIp(const std::string& peer_ip, const Request& req) const {
    if (trusted_proxies.empty()) return peer_ip;
    std::vector<std::string_view> forwarded_for;
    for (const auto& h : req.headers) {
      if (beast::iequals(h.name, "X-Forwarded-For")) forwarded_for.emplace_back(h.value);
    }
    auto peer = IpAddress::Parse(peer_ip);  // fails only for a zone id: never a proxy
    if (forwarded_for.empty() || !peer.ok()) return peer_ip;
    const IpAddress client = ClientAddress(*peer, forwarded_for, trusted_proxies);
    return client == *peer ? peer_ip : client.ToString();
  }

  Response SafeDispatch(const Route& route, Request& req) const {
    try {
      return router.Dispatch(route, req);
    } catch (const std::exception& e) {
      Response r = Response::Error(Internal(std::string("handler threw: ") + e.what()));
      return r;
    }
  }

  // One admitted CPU-bound request, queued or running; counted out when it ends.
  class CpuSlot {
   public:
    explicit CpuSlot(Impl& impl) : impl_(impl) { impl_.cpu_queue.Add(1); }
    ~CpuSlot() {
      impl_.cpu_queue.Add(-1);
      impl_.cpu_inflight.fetch_sub(1);
    }
    CpuSlot(const CpuSlot&) = delete;
    CpuSlot& operator=(const CpuSlot&) = delete;

   private:
    Impl& impl_;
  };

  // Runs the route's handler on `pool` and resumes on the connection's executor.
  awaitable<Response> RunOn(asio::thread_pool& pool, const Route& route, Request& req) {
    auto ex = co_await asio::this_coro::executor;
    co_return co_await asio::async_initiate<decltype(use_awaitable), void(Response)>(
        [this, &pool, &route, &req, ex](auto handler) {
          asio::post(pool, [this, &route, &req, ex, handler = std::move(handler)]() mutable {
            Response r = SafeDispatch(route, req);
            asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
              handler(std::move(r));
            });
          });
        },
        use_awaitable);
  }

  awaitable<Response> Invoke(const Route& route, Request& req) {
    switch (route.options.execution) {
      case Execution::kInline:
        co_return SafeDispatch(route, req);
      case Execution::kCpuBound: {
        // Bounded: a login flood waits only up to max_cpu_queue deep, then gets a quick
        // 503 instead of ever longer queues.
        if (cpu_inflight.fetch_add(1) >= limits.max_cpu_queue) {
          cpu_inflight.fetch_sub(1);
          cpu_busy.Add();
          Response busy = Response::Error(
              Status(StatusCode::kUnavailable, "the server is busy; try again shortly")
                  .WithReason("busy"));
          busy.headers.push_back({"Retry-After", "1"});
          co_return busy;
        }
        const CpuSlot slot(*this);
        co_return co_await RunOn(cpu_pool, route, req);
      }
      case Execution::kWorker:
        break;
    }
    co_return co_await RunOn(workers, route, req);
  }

  // Registers a connection with its slot (for Shutdown) for its lifetime, and gives its
  // connection-limit slot back at the end.
  class ConnectionGuard {
   public:
    ConnectionGuard(Impl& impl, ContextSlot& slot, ConnectionState& state, const std::string& ip)
        : impl_(impl), slot_(slot), state_(state), ip_(ip) {
      slot_.connections.insert(&state_);
    }
    ~ConnectionGuard() {
      slot_.connections.erase(&state_);
      impl_.ReleaseConnection(ip_);
    }
    ConnectionGuard(const ConnectionGuard&) = delete;
    ConnectionGuard& operator=(const ConnectionGuard&) = delete;

   private:
    Impl& impl_;
    ContextSlot& slot_;
    ConnectionState& state_;
    const std::string& ip_;
  };

  // The body limit of `route`: its own, or the configured default for its body mode.
  int64_t BodyLimit(const Route& route) const {
    if (route.options.max_body_bytes >= 0) return route.options.max_body_bytes;
    return route.options.body == BodyMode::kStreamed ? limits.max_upload_bytes
                                                     : limits.max_body_bytes;
  }

  // True when a request for `host` (a Host's host, "" without one) is for this server.
  bool ServesHost(std::string_view host) const {
    if (host_names.empty()) return true;
    return std::any_of(host_names.begin(), host_names.end(),
                       [host](const std::string& name) { return SameHost(host, name); });
  }

  awaitable<void> AcceptLoop(tcp::acceptor& from, bool redirect);
  // A connection, one request after another: Handshake, then per request AwaitRequest,
  // ReadHead, TakeHead, CheckHead, RouteRequest, Serve (body and handler) and Answer.
  awaitable<void> RunConnection(tcp::socket socket, ContextSlot& slot, std::string ip,
                                std::shared_ptr<asio::ssl::context> tls_ctx);
  awaitable<bool> Handshake(Connection& c);
  awaitable<bool> AwaitRequest(Connection& c);
  awaitable<bool> ReadHead(Connection& c, HeadParser& parser, Exchange& x);
  void TakeHead(const Connection& c, HeadParser& parser, Exchange& x) const;
  void CheckHead(Exchange& x) const;
  void RouteRequest(Exchange& x) const;
  awaitable<void> Serve(Connection& c, HeadParser& parser, Exchange& x);
  awaitable<bool> SendContinue(Connection& c, Exchange& x);
  awaitable<void> ServeBuffered(Connection& c, HeadParser& parser, Exchange& x);
  awaitable<void> ServeStreamed(Connection& c, HeadParser& parser, Exchange& x);
  awaitable<bool> Answer(Connection& c, Exchange& x);
  void LogRequest(const Connection& c, const Exchange& x) const;
  awaitable<void> Linger(Connection& c);
  awaitable<void> RunRedirect(tcp::socket socket, ContextSlot& slot, std::string ip);
  // Returns the body bytes written.
  awaitable<uint64_t> WriteResponse(TlsStream& stream, const Request& req, Response& res,
                                    bool keep_alive, bool head, beast::error_code& ec);

  const config::ServerConfig server_config;
  const config::LimitsConfig limits;
  const Router& router;
  MetricsRegistry& metrics;
  RequestObserver* const observer;         // may be null
  std::vector<IpNetwork> trusted_proxies;  // from server.trusted_proxies

  std::vector<std::unique_ptr<ContextSlot>> slots;
  std::vector<std::thread> threads;
  asio::thread_pool workers;
  const size_t cpu_threads;
  asio::thread_pool cpu_pool;  // Execution::kCpuBound handlers only
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<tcp::acceptor> redirect_acceptor;
  uint16_t bound_port = 0;
  uint16_t bound_redirect_port = 0;
  std::string bound_host;
  // Set by Start before the first connection, then read-only.
  std::string public_url;               // server.public_url, or the listen address's origin
  std::vector<std::string> host_names;  // the hosts served; empty: any

  std::mutex tls_mu;
  std::shared_ptr<asio::ssl::context> tls;  // GUARDED_BY(tls_mu)

  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::atomic<int64_t> open_connections{0};
  std::mutex ip_mu;
  std::unordered_map<std::string, int64_t> per_ip;  // GUARDED_BY(ip_mu)

  Gauge& open_gauge;
  Counter& rejected;
  Gauge& cpu_queue;
  Counter& cpu_busy;
  std::atomic<int64_t> cpu_inflight{0};     // admitted CPU-bound requests (cpu_queue's value)
  std::vector<RouteMetrics> route_metrics;  // one per route, plus "unmatched" last
};

namespace {

// A BodyReader that pulls body bytes through the connection's parser. Read() runs on a
// worker thread and hands each read to the connection's I/O thread; while the handler
// works on one piece, the next is already being read and decrypted (one read ahead), so
// the two threads overlap. The bytes land in chunks the pending read co-owns, so a read
// abandoned at shutdown never writes into freed memory; Settle() (on the I/O thread,
// after the handler returned) cuts a read ahead that is no longer wanted and waits for
// it, so nothing still reads the stream when the response goes out. A body slower than
// min_bytes_per_second (averaged once body_timeout has passed) is cut off, so slow
// senders cannot pin the worker pool.
class StreamedBodyReader final : public BodyReader {
 public:
  StreamedBodyReader(TlsStream& stream, beast::flat_buffer& buffer,
                     bhttp::request_parser<bhttp::buffer_body>& parser, asio::any_io_executor ex,
                     milliseconds timeout, int64_t min_bytes_per_second,
                     const std::atomic<bool>& stopped)
      : stream_(stream),
        buffer_(buffer),
        parser_(parser),
        ex_(std::move(ex)),
        timeout_(timeout),
        min_rate_(min_bytes_per_second),
        stopped_(stopped),
        start_(SteadyClock::now()) {}

  Result<size_t> Read(std::span<char> out) override {
    if (failed_) return InvalidArgument("request body already failed");
    if (out.empty()) return size_t{0};
    if (pos_ == len_) {
      if (eof_) return size_t{0};
      if (!pending_) pending_ = Issue(nullptr);
      auto n = Await(*pending_);
      if (!n.ok()) {
        failed_ = true;
        return n;
      }
      std::swap(current_, pending_);
      pos_ = 0;
      len_ = *n;
      if (len_ == 0) {
        eof_ = true;
        return size_t{0};
      }
      received_ += len_;
      const auto elapsed = SteadyClock::now() - start_;
      if (min_rate_ > 0 && elapsed > timeout_) {
        const double seconds = std::chrono::duration<double>(elapsed).count();
        if (static_cast<double>(received_) / seconds < static_cast<double>(min_rate_)) {
          failed_ = true;
          return Status(StatusCode::kRequestTimeout, "request body arrives too slowly");
        }
      }
      pending_ = Issue(std::move(pending_));  // read ahead into the chunk just used up
    }
    const size_t n = std::min(out.size(), len_ - pos_);
    std::copy_n(current_->chunk.get() + pos_, n, out.data());
    pos_ += n;
    return n;
  }

  // Body bytes read for the handler so far (not a read ahead still in flight). On the I/O
  // thread once the handler is done.
  uint64_t received() const { return received_; }

  // On the I/O thread, once the handler is done: ends a read ahead still in flight.
  awaitable<void> Settle() {
    settling_ = true;
    if (!pending_ || pending_->done) co_return;
    beast::get_lowest_layer(stream_).cancel();  // the connection closes: the body was not read
    asio::steady_timer timer(ex_, SteadyClock::time_point::max());
    on_settled_ = [&timer] { timer.cancel(); };
    if (!pending_->done) {
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    on_settled_ = nullptr;
    co_return;
  }

 private:
  struct Call {
    // Not value-initialised: the read overwrites what it reports.
    std::unique_ptr<char[]> chunk = std::make_unique_for_overwrite<char[]>(kStreamChunk * 4);
    std::promise<Result<size_t>> promise;
    std::future<Result<size_t>> future;
    bool done = false;  // on the I/O thread only, once issued
  };

  // Starts a read on the I/O thread into `reuse` (a chunk no read uses any more) or a new
  // chunk.
  std::shared_ptr<Call> Issue(std::shared_ptr<Call> reuse) {
    auto call = reuse ? std::move(reuse) : std::make_shared<Call>();
    call->promise = std::promise<Result<size_t>>();
    call->future = call->promise.get_future();
    call->done = false;
    asio::post(ex_, [this, call] { ReadSome(call); });
    return call;
  }

  Result<size_t> Await(Call& call) {
    while (call.future.wait_for(milliseconds(100)) != std::future_status::ready) {
      if (stopped_.load()) return Unavailable("server is stopping");
    }
    return call.future.get();
  }

  // On the I/O thread.
  void Finish(const std::shared_ptr<Call>& call, Result<size_t> result) {
    call->promise.set_value(std::move(result));
    call->done = true;
    if (on_settled_) on_settled_();
  }

  // On the I/O thread.
  void ReadSome(const std::shared_ptr<Call>& call) {
    if (settling_) {
      Finish(call, Unavailable("the request is over"));
      return;
    }
    if (parser_.is_done()) {
      Finish(call, size_t{0});
      return;
    }
    parser_.get().body().data = call->chunk.get();
    parser_.get().body().size = kStreamChunk * 4;
    stream_.next_layer().expires_never();
    deadline_.emplace(stream_.next_layer(), timeout_);
    bhttp::async_read(stream_, buffer_, parser_, [this, call](beast::error_code ec, size_t) {
      const bool timed_out = deadline_->fired();
      deadline_.reset();
      if (ec == bhttp::error::need_buffer) ec = {};
      const size_t n = kStreamChunk * 4 - parser_.get().body().size;
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          Finish(call, Status(StatusCode::kPayloadTooLarge, "request body too large"));
        } else if (timed_out) {
          Finish(call, Status(StatusCode::kRequestTimeout, "request body timed out"));
        } else {
          Finish(call, InvalidArgument("request body is malformed"));
        }
        return;
      }
      if (n == 0 && !parser_.is_done()) {
        ReadSome(call);  // only framing arrived; read on
        return;
      }
      Finish(call, n);
    });
  }

  TlsStream& stream_;
  beast::flat_buffer& buffer_;
  bhttp::request_parser<bhttp::buffer_body>& parser_;
  asio::any_io_executor ex_;
  milliseconds timeout_;
  int64_t min_rate_;
  const std::atomic<bool>& stopped_;
  SteadyClock::time_point start_;
  // Worker side.
  std::shared_ptr<Call> current_;  // the piece being handed out
  std::shared_ptr<Call> pending_;  // the read ahead
  size_t pos_ = 0;
  size_t len_ = 0;
  uint64_t received_ = 0;
  bool eof_ = false;
  bool failed_ = false;
  // I/O thread side.
  bool settling_ = false;
  std::function<void()> on_settled_;
  std::optional<ReadDeadline> deadline_;  // while a read is in flight
};

// The reader of a streamed route whose request has no body.
class EmptyBodyReader final : public BodyReader {
 public:
  Result<size_t> Read(std::span<char>) override { return size_t{0}; }
};

}  // namespace

awaitable<uint64_t> Server::Impl::WriteResponse(TlsStream& stream, const Request& req,
                                                Response& res, bool keep_alive, bool head,
                                                beast::error_code& ec) {
  stream.next_layer().expires_after(milliseconds(limits.write_timeout_ms));
  const auto status = static_cast<bhttp::status>(res.status);
  if (!res.stream || head) {
    if (head) {
      bhttp::response<bhttp::empty_body> out{status, 11};
      AddStandardHeaders(out, req, res);
      if (!res.stream) {
        out.content_length(res.body.size());
      } else if (res.stream_length) {
        out.content_length(*res.stream_length);
      }  // else: the GET would be chunked, whose length is unknown: no Content-Length
      out.keep_alive(keep_alive);
      co_await bhttp::async_write(stream, out, asio::redirect_error(use_awaitable, ec));
      co_return 0;
    }
    bhttp::response<bhttp::string_body> out{status, 11};
    AddStandardHeaders(out, req, res);
    out.body() = std::move(res.body);
    out.keep_alive(keep_alive);
    out.prepare_payload();
    const size_t written =
        co_await bhttp::async_write(stream, out, asio::redirect_error(use_awaitable, ec));
    if (!ec) co_return out.body().size();
    // Cut short (the client went away): the head went first, the rest was body.
    std::ostringstream head_text;
    head_text << out.base();
    const size_t head_bytes = head_text.view().size();
    co_return written > head_bytes ? std::min(written - head_bytes, out.body().size()) : 0;
  }
  bhttp::response<bhttp::buffer_body> out{status, 11};
  AddStandardHeaders(out, req, res);
  if (res.stream_length) {
    out.content_length(*res.stream_length);
  } else if (req.version >= 11) {
    out.chunked(true);
  } else {
    keep_alive = false;  // HTTP/1.0 has no chunked encoding: the close ends the body
  }
  out.keep_alive(keep_alive);
  out.body().data = nullptr;
  out.body().more = true;
  bhttp::response_serializer<bhttp::buffer_body> sr{out};
  co_await bhttp::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return 0;
  std::vector<char> chunk(kStreamChunk * 4);
  uint64_t sent = 0;       // read from the source
  uint64_t delivered = 0;  // written to the connection
  for (;;) {
    auto n = res.stream->Read(chunk);
    // A source that fails, or yields other than its declared length, would desynchronize
    // the connection (a short body hangs the client, a long one injects a "response"):
    // headers are out, so the only honest signal left is to cut the connection.
    Status failure = n.ok() ? Status::Ok() : n.status();
    if (failure.ok() && res.stream_length) {
      const uint64_t left = *res.stream_length - sent;
      if (*n > left) failure = Internal("response stream longer than its Content-Length");
      if (*n == 0 && left > 0)
        failure = Internal("response stream shorter than its Content-Length");
    }
    if (!failure.ok()) {
      log::Error(kComponent, "response stream failed",
                 {{"request_id", req.request_id}, {"error", failure.ToString()}});
      ec = asio::error::connection_aborted;
      co_return delivered;
    }
    sent += *n;
    out.body().data = *n > 0 ? chunk.data() : nullptr;
    out.body().size = *n;
    out.body().more = *n > 0;
    stream.next_layer().expires_after(milliseconds(limits.write_timeout_ms));
    const size_t written =
        co_await bhttp::async_write(stream, sr, asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    // A piece cut short counts what was written of it (with chunked framing: at most that).
    delivered += ec ? std::min<uint64_t>(*n, written) : *n;
    if (ec || *n == 0) co_return delivered;
  }
}

awaitable<void> Server::Impl::RunConnection(tcp::socket socket, ContextSlot& slot, std::string ip,
                                            std::shared_ptr<asio::ssl::context> tls_ctx) {
  ConnectionState state;
  const ConnectionGuard guard(*this, slot, state, ip);
  Connection c(std::move(socket), *tls_ctx, ip,
               static_cast<size_t>(limits.max_header_bytes) + 2 * kStreamChunk);
  state.stream = &c.stream.next_layer();
  if (!co_await Handshake(c)) co_return;
  const size_t unmatched = route_metrics.size() - 1;
  while (!stopping.load() && co_await AwaitRequest(c)) {
    Exchange x(unmatched);
    HeadParser head_parser;
    if (!co_await ReadHead(c, head_parser, x)) break;
    state.busy = true;
    if (!x.answered) {
      TakeHead(c, head_parser, x);
      CheckHead(x);
    }
    if (!x.answered) RouteRequest(x);
    if (!x.answered) co_await Serve(c, head_parser, x);
    if (x.client_gone) {
      Finish(x.req, x.route, kClientClosed, x.bytes_in, 0, x.start);
      break;
    }
    const bool next = co_await Answer(c, x);
    state.busy = false;
    if (!next) break;
  }
  // Best-effort close_notify; the peer may already be gone.
  beast::error_code ec;
  c.stream.next_layer().expires_after(milliseconds(1000));
  co_await c.stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
}

awaitable<bool> Server::Impl::Handshake(Connection& c) {
  beast::error_code ec;
  c.stream.next_layer().expires_after(milliseconds(limits.header_timeout_ms));
  co_await c.stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(use_awaitable, ec));
  co_return !ec;
}

// Waits for the first byte of the next request, unless one is buffered already
// (pipelined). False when the client closed or stayed idle too long.
awaitable<bool> Server::Impl::AwaitRequest(Connection& c) {
  const bool first = c.first;
  c.first = false;
  if (c.buffer.size() > 0) co_return true;
  // Idle: give back a grown read buffer (idle keep-alive connections can number tens of
  // thousands).
  if (c.buffer.capacity() > kIdleBufferKeep) c.buffer.shrink_to_fit();
  c.stream.next_layer().expires_after(
      milliseconds(first ? limits.header_timeout_ms : limits.idle_timeout_ms));
  beast::error_code ec;
  const size_t n = co_await c.stream.async_read_some(c.buffer.prepare(2048),
                                                     asio::redirect_error(use_awaitable, ec));
  if (ec) co_return false;
  c.buffer.commit(n);
  co_return true;
}

// Parses the request head from the buffer, reading more under the header timeout (the
// whole head must arrive within it) and the header byte limit. False when the client went
// away first. A head that does not parse is answered (400, 431) and the connection closed.
// Beast unfolds obs-fold lines without telling, so the bytes it consumes are looked at.
awaitable<bool> Server::Impl::ReadHead(Connection& c, HeadParser& parser, Exchange& x) {
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  // Checked per route. Not boost::none: Beast 1.74 compares a Content-Length against an
  // empty optional as "greater" and fails every request with a body.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  c.stream.next_layer().expires_after(milliseconds(limits.header_timeout_ms));
  beast::error_code ec;
  for (;;) {
    if (c.buffer.size() > 0) {
      const auto data = c.buffer.data();
      const size_t used = parser.put(data, ec);
      x.folded = x.folded || HasObsFold({static_cast<const char*>(data.data()), used});
      c.buffer.consume(used);
      if (ec != bhttp::error::need_more) break;
    }
    const size_t room = std::min(c.buffer.max_size() - c.buffer.size(), kStreamChunk);
    if (room == 0) {
      ec = bhttp::error::header_limit;
      break;
    }
    const size_t n = co_await c.stream.async_read_some(c.buffer.prepare(room),
                                                       asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;  // closed, reset or past the header timeout: no answer
    c.buffer.commit(n);
  }
  if (ec) {
    x.req.request_id = crypto::RandomHex(16);
    x.req.peer_ip = c.ip;
    x.req.remote_ip = c.ip;  // the head, and any X-Forwarded-For in it, did not parse
    Refuse(x, ParseErrorStatus(ec), true);
  }
  co_return true;
}

void Server::Impl::TakeHead(const Connection& c, HeadParser& parser, Exchange& x) const {
  const auto& head = parser.get();
  Request& req = x.req;
  req.method_text = std::string(head.method_string());
  req.method = ParseMethod(req.method_text);
  req.target = std::string(head.target());
  req.version = static_cast<int>(head.version());
  for (const auto& f : head) {
    req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  }
  req.peer_ip = c.ip;  // connection limits stay on the peer (AcquireConnection)
  req.remote_ip = ClientIp(c.ip, req);
  const std::string_view incoming_id = req.Header("X-Request-Id");
  req.request_id = IsValidRequestId(incoming_id) ? std::string(incoming_id) : crypto::RandomHex(16);
  req.public_url = public_url;
  if (auto len = parser.content_length()) req.content_length = *len;
  x.has_body = parser.chunked() || req.content_length.value_or(0) > 0;
  x.body_consumed = !x.has_body;
  x.keep_alive = head.keep_alive();
}

// Before routing: the framing (framing.h), the version, the target (path.h) and the host
// the request is for. Each refusal closes the connection: after a head that could be read
// two ways, or a target a proxy in front may have read otherwise, nothing that follows on
// the connection is trusted.
void Server::Impl::CheckHead(Exchange& x) const {
  Request& req = x.req;
  if (x.folded) return Refuse(x, InvalidArgument("folded header lines are not allowed"), true);
  if (req.version != 11 && req.version != 10) {
    return Refuse(x, InvalidArgument("unsupported HTTP version"), true);
  }
  auto framing = CheckFraming(req.headers, req.version);
  if (!framing.ok()) return Refuse(x, framing.status(), true);
  auto target = ParseTarget(req.target);
  if (!target.ok()) return Refuse(x, target.status(), true);
  if (!ServesHost(framing->host)) {
    return Refuse(
        x, Status(StatusCode::kMisdirectedRequest, "this server does not serve that host"), true);
  }
  req.path = std::move(target->path);
  req.query = std::move(target->query);
}

// Finds the route, then asks the request log and the route's precheck, and checks the
// declared body size: all before a byte of the body is read, on the I/O thread.
void Server::Impl::RouteRequest(Exchange& x) const {
  Request& req = x.req;
  auto match = router.Find(req.method, req.path, req);
  if (match.route == nullptr) {
    Refuse(x, match.status, false);
    if (!match.allow.empty()) x.res.headers.push_back({"Allow", match.allow});
    return;
  }
  x.route = match.route;
  x.route_index = match.route->index;
  if (observer != nullptr) {
    if (Status refused = observer->Admit(req); !refused.ok()) return Refuse(x, refused, false);
  }
  if (x.route->options.precheck) {
    if (Status refused = x.route->options.precheck(req); !refused.ok()) {
      return Refuse(x, refused, false);
    }
  }
  if (req.content_length && *req.content_length > static_cast<uint64_t>(BodyLimit(*x.route))) {
    Refuse(x, {StatusCode::kPayloadTooLarge, "request body too large"}, false);
  }
}

// Reads the body as the route says and runs its handler.
awaitable<void> Server::Impl::Serve(Connection& c, HeadParser& parser, Exchange& x) {
  const bool streamed = x.route->options.body == BodyMode::kStreamed;
  if (!x.has_body) {
    EmptyBodyReader empty;
    if (streamed) x.req.body_reader = &empty;
    x.res = co_await Invoke(*x.route, x.req);
    x.req.body_reader = nullptr;
  } else if (!co_await SendContinue(c, x)) {
    co_return;
  } else if (streamed) {
    co_await ServeStreamed(c, parser, x);
  } else {
    co_await ServeBuffered(c, parser, x);
  }
  // Asked again: a success is not answered once the request log is known to fail.
  if (observer != nullptr && !x.client_gone && x.res.status < 400) {
    if (Status refused = observer->Admit(x.req); !refused.ok()) x.res = Response::Error(refused);
  }
  co_return;  // cppcheck reads a coroutine without one as missing its return
}

// Sends "100 Continue" when the client waits for it before sending the body. False when
// the client went away.
awaitable<bool> Server::Impl::SendContinue(Connection& c, Exchange& x) {
  const std::string_view expect = x.req.Header("Expect");
  if (!beast::iequals(beast::string_view(expect.data(), expect.size()), "100-continue")) {
    co_return true;
  }
  beast::error_code ec;
  bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
  c.stream.next_layer().expires_after(milliseconds(limits.write_timeout_ms));
  co_await bhttp::async_write(c.stream, cont, asio::redirect_error(use_awaitable, ec));
  x.client_gone = static_cast<bool>(ec);
  co_return !ec;
}

// The whole body into Request::body, then the handler. A body that does not arrive within
// limits.body_timeout_ms is answered 408.
awaitable<void> Server::Impl::ServeBuffered(Connection& c, HeadParser& parser, Exchange& x) {
  bhttp::request_parser<bhttp::string_body> body_parser(std::move(parser));
  body_parser.body_limit(static_cast<std::uint64_t>(BodyLimit(*x.route)));
  beast::error_code ec;
  bool timed_out = false;
  {
    c.stream.next_layer().expires_never();
    const ReadDeadline deadline(c.stream.next_layer(), milliseconds(limits.body_timeout_ms));
    co_await bhttp::async_read(c.stream, c.buffer, body_parser,
                               asio::redirect_error(use_awaitable, ec));
    timed_out = ec && deadline.fired();  // a read that completed as it fired stands
  }
  x.bytes_in = body_parser.get().body().size();
  if (timed_out) {
    x.res = Response::Error({StatusCode::kRequestTimeout, "request body timed out"});
  } else if (ec && IsClosedByPeer(ec)) {
    x.client_gone = true;
  } else if (ec) {
    log::Debug(kComponent, "body read failed", {{"error", ec.message()}});
    x.res = Response::Error(ParseErrorStatus(ec));
  } else {
    x.body_consumed = true;
    x.req.body = std::move(body_parser.get().body());
    x.res = co_await Invoke(*x.route, x.req);
  }
  co_return;  // cppcheck reads a coroutine without one as missing its return
}

// The handler pulls the body through a StreamedBodyReader while it runs.
awaitable<void> Server::Impl::ServeStreamed(Connection& c, HeadParser& parser, Exchange& x) {
  bhttp::request_parser<bhttp::buffer_body> body_parser(std::move(parser));
  body_parser.body_limit(static_cast<std::uint64_t>(BodyLimit(*x.route)));
  StreamedBodyReader reader(c.stream, c.buffer, body_parser, co_await asio::this_coro::executor,
                            milliseconds(limits.body_timeout_ms), limits.min_body_bytes_per_second,
                            stopped);
  x.req.body_reader = &reader;
  x.res = co_await Invoke(*x.route, x.req);
  x.req.body_reader = nullptr;
  co_await reader.Settle();
  x.bytes_in = reader.received();
  x.body_consumed = body_parser.is_done();
}

// Writes the answer and reports the request. True when the connection serves another.
awaitable<bool> Server::Impl::Answer(Connection& c, Exchange& x) {
  Response& res = x.res;
  const bool head = x.req.method == Method::kHead;
  // HTTP/1.0 has no chunked encoding: a streamed body of unknown length ends with the close.
  const bool ends_by_close = res.stream && !res.stream_length && !head && x.req.version < 11;
  if (!x.body_consumed || stopping.load() || res.status == 408 || ends_by_close) {
    x.keep_alive = false;
  }
  // 501 is the client's doing (a transfer coding), not the server's failure.
  if (!res.log_detail.empty() || (res.status >= 500 && res.status != 501)) {
    log::Error(kComponent, "request failed",
               {{"request_id", x.req.request_id},
                {"method", Bounded(x.req.method_text)},
                {"route", x.route != nullptr ? x.route->pattern : std::string("unmatched")},
                {"status", res.status},
                {"detail", Bounded(res.log_detail)}});
  }
  beast::error_code ec;
  const uint64_t bytes_out = co_await WriteResponse(c.stream, x.req, res, x.keep_alive, head, ec);
  Record(x.route_index, res.status, x.start);
  Finish(x.req, x.route, res.status, x.bytes_in, bytes_out, x.start);
  if (log::Enabled(log::Level::kDebug)) LogRequest(c, x);
  if (ec) co_return false;
  if (x.keep_alive) co_return true;
  // Closing with body bytes unread, or after a refusal whose client may still be sending.
  if (!x.body_consumed || res.status >= 400) co_await Linger(c);
  co_return false;
}

void Server::Impl::LogRequest(const Connection& c, const Exchange& x) const {
  log::Debug(kComponent, "request",
             {{"request_id", x.req.request_id},
              {"method", Bounded(x.req.method_text)},
              {"route", x.route != nullptr ? x.route->pattern : std::string("unmatched")},
              {"status", x.res.status},
              {"ip", x.req.remote_ip},
              {"peer_ip", c.ip}});
}

// After answering a request the connection will not continue (413, 4xx) while its body
// may still be arriving: end the sending side, so the client learns at once that nothing
// more comes, then read and discard for a short while before closing, so the client
// finishes sending and reads the answer instead of hitting a reset (nginx's lingering
// close). Bounded in time and bytes.
awaitable<void> Server::Impl::Linger(Connection& c) {
  constexpr size_t kMaxBytes = 64 << 20;
  const auto deadline = SteadyClock::now() + milliseconds(2000);
  size_t total = 0;
  beast::error_code ec;
  c.stream.next_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  c.buffer.consume(c.buffer.size());
  while (total < kMaxBytes && SteadyClock::now() < deadline) {
    c.stream.next_layer().expires_at(deadline);
    const size_t n = co_await c.stream.async_read_some(c.buffer.prepare(kStreamChunk),
                                                       asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    total += n;
  }
  c.buffer.consume(c.buffer.size());
}

// Accepts from `from` forever, handing each connection to the next context round-robin,
// under the connection limits; `redirect` picks what the connection runs.
awaitable<void> Server::Impl::AcceptLoop(tcp::acceptor& from, bool redirect) {
  size_t next = 0;
  for (;;) {
    ContextSlot& slot = *slots[next++ % slots.size()];
    tcp::socket socket(slot.io);
    beast::error_code ec;
    co_await from.async_accept(socket, asio::redirect_error(use_awaitable, ec));
    if (stopping.load() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Typically EMFILE: back off instead of spinning.
      log::Warn(kComponent, "accept failed", {{"error", ec.message()}});
      asio::steady_timer t(co_await asio::this_coro::executor, milliseconds(50));
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    auto endpoint = socket.remote_endpoint(ec);
    if (ec) continue;
    std::string ip = NormalizedIp(endpoint.address());
    if (!AcquireConnection(ip)) {
      rejected.Add();
      socket.close(ec);
      continue;
    }
    if (redirect) {
      asio::co_spawn(slot.io, RunRedirect(std::move(socket), slot, std::move(ip)), asio::detached);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(slot.io, RunConnection(std::move(socket), slot, std::move(ip), CurrentTls()),
                   [](const std::exception_ptr& e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       log::Error(kComponent, "connection failed", {{"error", ex.what()}});
                     }
                   });
  }
}

// The plain-HTTP listener: every well-formed request is redirected (308) to the same target
// at the public URL, whatever host it named; then the connection closes.
awaitable<void> Server::Impl::RunRedirect(tcp::socket socket, ContextSlot& slot, std::string ip) {
  ConnectionState state;
  const ConnectionGuard guard(*this, slot, state, ip);
  beast::tcp_stream stream(std::move(socket));
  state.stream = &stream;
  beast::flat_buffer buffer;
  beast::error_code ec;
  stream.expires_after(milliseconds(limits.header_timeout_ms));
  const auto start = SteadyClock::now();
  HeadParser parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  co_await bhttp::async_read_header(stream, buffer, parser,
                                    asio::redirect_error(use_awaitable, ec));
  if (ec && IsClosedByPeer(ec)) co_return;
  Request req;
  req.request_id = crypto::RandomHex(16);
  req.peer_ip = ip;
  req.remote_ip = ip;
  if (parser.is_header_done()) {
    req.method_text = std::string(parser.get().method_string());
    req.method = ParseMethod(req.method_text);
    req.target = std::string(parser.get().target());
    req.version = static_cast<int>(parser.get().version());
    for (const auto& f : parser.get()) {
      req.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
  }
  auto target = ParseTarget(req.target);
  bhttp::response<bhttp::string_body> res;
  res.version(11);
  if (ec || !CheckFraming(req.headers, req.version).ok() || !target.ok()) {
    res.result(bhttp::status::bad_request);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = ErrorBody(InvalidArgument("bad request"));
  } else {
    res.result(bhttp::status::permanent_redirect);
    res.set(bhttp::field::location, public_url + req.target);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = R"({"redirect":"https"})";
    req.path = std::move(target->path);
    req.query = std::move(target->query);
  }
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(false);
  res.prepare_payload();
  stream.expires_after(milliseconds(limits.write_timeout_ms));
  co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
  const bool written = !ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  // In the request log like any other request (unrouted: nothing was served).
  Finish(req, nullptr, static_cast<int>(res.result_int()), 0, written ? res.body().size() : 0,
         start);
}

Server::Server(const config::ServerConfig& server, const config::LimitsConfig& limits,
               const Router& router, MetricsRegistry& metrics, RequestObserver* observer)
    : impl_(std::make_unique<Impl>(server, limits, router, metrics, observer)) {}

Server::~Server() { Shutdown(); }

namespace {

Result<std::unique_ptr<tcp::acceptor>> Bind(asio::io_context& io, const std::string& listen) {
  auto hp = config::ParseHostPort(listen);
  if (!hp.ok()) return hp.status();
  beast::error_code ec;
  const std::string host = hp->host == "localhost" ? "127.0.0.1" : hp->host;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return InvalidArgument("invalid listen address " + listen);
  const tcp::endpoint endpoint(address, hp->port);
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable("cannot listen on " + listen + ": " + ec.message());
  return acceptor;
}

// The public URL and the host names served (see config::ServerConfig::public_url and
// allowed_hosts), once the listener's port is known.
Status ResolvePublicUrl(const config::ServerConfig& config, uint16_t bound_port,
                        std::string& public_url, std::vector<std::string>& host_names) {
  std::string public_host;
  if (config.public_url.empty()) {
    auto hp = config::ParseHostPort(config.listen);
    if (!hp.ok()) return hp.status();
    public_host = hp->host.find(':') != std::string::npos ? "[" + hp->host + "]" : hp->host;
    public_url = "https://" + public_host + ":" + std::to_string(bound_port);
    if (hp->host == "0.0.0.0" || hp->host == "::") {
      log::Warn(kComponent, "server.public_url is not set: links name the listen address",
                {{"public_url", public_url}});
    }
  } else {
    auto url = config::ParsePublicUrl(config.public_url);
    if (!url.ok()) return InvalidArgument("server.public_url: " + url.status().message());
    public_url = url->origin;
    public_host = url->host;
  }
  host_names.clear();
  if (config.public_url.empty() && config.allowed_hosts.empty()) return Status::Ok();
  for (const auto& name : config.allowed_hosts) {
    auto a = ParseAuthority(name);
    if (!a.ok() || a->port) {
      return InvalidArgument("server.allowed_hosts: not a host name or IP address: \"" + name +
                             "\"");
    }
    host_names.emplace_back(a->host);
  }
  host_names.push_back(public_host);
  return Status::Ok();
}

}  // namespace

Status Server::Start(SslCtxPtr tls) {
  Impl& d = *impl_;
  SetTls(std::move(tls));
  ASSIGN_OR_RETURN(d.acceptor, Bind(d.slots.front()->io, d.server_config.listen));
  d.bound_port = d.acceptor->local_endpoint().port();
  d.bound_host = d.acceptor->local_endpoint().address().to_string();
  if (d.acceptor->local_endpoint().address().is_v6()) d.bound_host = "[" + d.bound_host + "]";
  RETURN_IF_ERROR(ResolvePublicUrl(d.server_config, d.bound_port, d.public_url, d.host_names));
  if (!d.server_config.redirect_listen.empty()) {
    ASSIGN_OR_RETURN(d.redirect_acceptor,
                     Bind(d.slots.front()->io, d.server_config.redirect_listen));
    d.bound_redirect_port = d.redirect_acceptor->local_endpoint().port();
    asio::co_spawn(d.slots.front()->io, d.AcceptLoop(*d.redirect_acceptor, true), asio::detached);
  }
  asio::co_spawn(d.slots.front()->io, d.AcceptLoop(*d.acceptor, false), asio::detached);
  for (auto& slot : d.slots) {
    d.threads.emplace_back([&io = slot->io] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  return Status::Ok();
}

std::string Server::BaseUrl() const {
  return "https://" + impl_->bound_host + ":" + std::to_string(impl_->bound_port);
}
std::string Server::PublicUrl() const { return impl_->public_url; }
uint16_t Server::port() const { return impl_->bound_port; }
uint16_t Server::redirect_port() const { return impl_->bound_redirect_port; }
int64_t Server::open_connections() const { return impl_->open_connections.load(); }
size_t Server::cpu_threads() const { return impl_->cpu_threads; }

void Server::SetTls(SslCtxPtr tls) {
  SSL_CTX_up_ref(tls.get());  // asio's context takes ownership of one reference
  auto ctx = std::make_shared<asio::ssl::context>(tls.get());
  std::lock_guard lock(impl_->tls_mu);
  impl_->tls = std::move(ctx);
}

bool Server::Shutdown() {
  Impl& d = *impl_;
  if (d.stopped.load() || d.threads.empty()) return true;
  d.stopping.store(true);
  std::promise<void> closed;
  asio::post(d.slots.front()->io, [&d, &closed] {
    beast::error_code ec;
    if (d.acceptor) d.acceptor->close(ec);
    if (d.redirect_acceptor) d.redirect_acceptor->close(ec);
    closed.set_value();
  });
  closed.get_future().wait();
  // Idle connections (and ones still sending a request head) are closed now; requests in
  // flight finish and their connections close after the response.
  for (auto& slot : d.slots) {
    asio::post(slot->io, [s = slot.get()] {
      for (ConnectionState* c : s->connections) {
        if (!c->busy && c->stream != nullptr) c->stream->cancel();
      }
    });
  }
  const auto deadline = SteadyClock::now() + milliseconds(d.server_config.shutdown_deadline_ms);
  while (d.open_connections.load() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  const bool drained = d.open_connections.load() == 0;
  if (!drained) {
    // Past the deadline: close what is left so clients see an end instead of a hang.
    for (auto& slot : d.slots) {
      asio::post(slot->io, [s = slot.get()] {
        for (ConnectionState* c : s->connections) {
          if (c->stream != nullptr) c->stream->close();
        }
      });
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  d.stopped.store(true);
  for (auto& slot : d.slots) slot->io.stop();
  for (auto& t : d.threads) t.join();
  d.workers.join();
  d.cpu_pool.join();
  // Handlers that outlived the deadline posted their results to stopped contexts. Run
  // what is ready on this thread (the I/O threads are gone) so those connections finish
  // on their closed sockets and release everything while the Impl still exists.
  for (int round = 0; round < 100 && d.open_connections.load() > 0; ++round) {
    for (auto& slot : d.slots) {
      slot->io.restart();
      slot->io.poll();
    }
    if (d.open_connections.load() > 0) std::this_thread::sleep_for(milliseconds(5));
  }
  if (!drained) {
    log::Warn(kComponent, "shutdown deadline passed with open connections",
              {{"open", d.open_connections.load()}});
  }
  return drained;
}

}  // namespace pactum::http

#include "http/router.h"

#include <cstdlib>

namespace pactum::http {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

bool IsParam(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

// -1 when `route` does not match, else the number of parameter segments.
int MatchSegments(const Route& route, const std::vector<std::string_view>& parts) {
  if (route.segments.size() != parts.size()) return -1;
  int params = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (IsParam(route.segments[i])) {
      if (parts[i].empty()) return -1;
      ++params;
    } else if (route.segments[i] != parts[i]) {
      return -1;
    }
  }
  return params;
}

}  // namespace

void Router::Add(Method method, std::string_view pattern, Handler handler, RouteOptions options) {
  if (options.body == BodyMode::kStreamed && options.execution != Execution::kWorker) {
    std::abort();  // programming error: a streamed body would block an I/O or CPU thread
  }
  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern = std::string(pattern);
  for (auto seg : Split(pattern)) route->segments.emplace_back(seg);
  route->handler = std::move(handler);
  route->options = options;
  route->index = routes_.size();
  routes_.push_back(std::move(route));
}

void Router::Use(Middleware middleware) { middleware_.push_back(std::move(middleware)); }

Router::Match Router::Find(Method method, std::string_view path, Request& request) const {
  const auto parts = Split(path);
  const Route* best = nullptr;
  int best_params = 1 << 30;  // lowest score so far
  std::string allow;
  for (const auto& r : routes_) {
    const int params = MatchSegments(*r, parts);
    if (params < 0) continue;
    if (!allow.empty()) allow += ", ";
    allow += MethodName(r->method);
    const bool method_ok =
        r->method == method || (method == Method::kHead && r->method == Method::kGet);
    // Fewer parameters win; at equal parameters an exact HEAD route beats the GET fallback.
    const int score = params * 2 + (r->method == method ? 0 : 1);
    if (method_ok && score < best_params) {
      best = r.get();
      best_params = score;
    }
  }
  Match m;
  if (best == nullptr) {
    if (allow.empty()) {
      m.status = NotFound("no such endpoint");
    } else {
      m.status = Status(StatusCode::kMethodNotAllowed, "method not allowed");
      m.allow = std::move(allow);
    }
    return m;
  }
  request.params.clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (IsParam(best->segments[i])) {
      const auto& seg = best->segments[i];
      request.params.emplace_back(seg.substr(1, seg.size() - 2), std::string(parts[i]));
    }
  }
  m.route = best;
  return m;
}

Response Router::Dispatch(const Route& route, Request& request) const {
  if (middleware_.empty()) return route.handler(request);
  // Build the chain from the innermost (the handler) outwards.
  Next next = route.handler;
  for (auto it = middleware_.rbegin(); it != middleware_.rend(); ++it) {
    const Middleware& mw = *it;
    next = [&mw, &route, inner = std::move(next)](Request& req) { return mw(req, route, inner); };
  }
  return next(request);
}

}  // namespace pactum::http

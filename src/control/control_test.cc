#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "control/control_client.h"
#include "control/control_protocol.h"
#include "control/control_server.h"
#include "tests/support/temp_dir.h"

namespace pactum::control {
namespace {

using std::chrono::seconds;
using testing_support::TempDir;

constexpr auto kWait = std::chrono::seconds(30);

Verbs PingVerbs(const std::string& who = "server") {
  Verbs verbs;
  EXPECT_TRUE(verbs
                  .Add("ping",
                       [who](const Call& call) -> Result<nlohmann::json> {
                         return nlohmann::json{{"who", who}, {"echo", call.args.value("x", 0)}};
                       })
                  .ok());
  EXPECT_TRUE(verbs
                  .Add("fail",
                       [](const Call&) -> Result<nlohmann::json> {
                         return Status(StatusCode::kFailedPrecondition, "backups are off",
                                       "secret internal detail");
                       })
                  .ok());
  return verbs;
}

// A raw connection to <dir>/control.sock, for what the client never sends.
class Raw {
 public:
  explicit Raw(const std::string& dir) : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un addr{};
    socklen_t length = 0;
    int dir_fd = -1;
    EXPECT_TRUE(UnixAddressOf(dir, kSocketName, &addr, &length, &dir_fd).ok());
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), length) == 0;
    if (dir_fd >= 0) ::close(dir_fd);
  }
  ~Raw() { ::close(fd_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  bool connected() const { return connected_; }
  void Send(std::string_view bytes) const {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  void SendFrame(std::string_view payload) const {
    ASSERT_TRUE(WriteFrame(fd_, payload, std::chrono::steady_clock::now() + kWait).ok());
  }
  nlohmann::json Answer() const {
    auto text = ReadFrame(fd_, kMaxAnswerBytes, std::chrono::steady_clock::now() + kWait);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
  }
  // True once the server has closed the connection (read gives end of file).
  bool ClosedByServer() const {
    char c = 0;
    return ::recv(fd_, &c, 1, 0) == 0;
  }
  int fd() const { return fd_; }

 private:
  int fd_;
  bool connected_ = false;
};

std::string ErrorCode(const nlohmann::json& answer) {
  if (!answer.is_object() || !answer.contains("error")) return "(no error) " + answer.dump();
  return answer["error"].value("code", "");
}

TEST(ControlSocket, IsASocketOnlyItsOwnerCanUse) {
  TempDir dir;
  auto server = ControlServer::Start(dir.path(), PingVerbs());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  struct stat st {};
  ASSERT_EQ(::lstat(SocketPath(dir.path()).c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_EQ(st.st_uid, ::geteuid());
  // Nothing of the private directory it was made in is left.
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".control-")) << e.path();
  }
}

TEST(ControlSocket, AnswersAKnownVerbAndRefusesAnUnknownOne) {
  TempDir dir;
  auto server = ControlServer::Start(dir.path(), PingVerbs());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto pong = CallServer(dir.path(), "ping", {{"x", 7}}, kWait);
  ASSERT_TRUE(pong.ok()) << pong.status().ToString();
  EXPECT_EQ((*pong)["echo"], 7);
  auto unknown = CallServer(dir.path(), "keys.rotate", nlohmann::json::object(), kWait);
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().reason(), kUnknownVerb);
  // A handler's refusal comes back with its code and message, never its detail.
  auto failed = CallServer(dir.path(), "fail", nlohmann::json::object(), kWait);
  EXPECT_EQ(failed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(failed.status().message(), "backups are off");
  EXPECT_EQ(failed.status().ToString().find("secret"), std::string::npos);
}

TEST(ControlSocket, RefusesAnOversizedRequestWithoutReadingIt) {
  TempDir dir;
  auto server = ControlServer::Start(dir.path(), PingVerbs());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Raw raw(dir.path());
  ASSERT_TRUE(raw.connected());
  const uint32_t n = kMaxRequestBytes + 1;
  const char head[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                        static_cast<char>(n >> 8), static_cast<char>(n)};
  raw.Send(std::string_view(head, 4));  // and not one byte of the announced body
  EXPECT_EQ(ErrorCode(raw.Answer()), "payload_too_large");
  EXPECT_TRUE(raw.ClosedByServer());
  // The client does not even send one.
  auto big = CallServer(dir.path(), "ping", {{"x", std::string(kMaxRequestBytes, 'a')}}, kWait);
  EXPECT_EQ(big.status().code(), StatusCode::kInvalidArgument);
}

TEST(ControlSocket, RefusesWhatItDoesNotUnderstand) {
  TempDir dir;
  auto server = ControlServer::Start(dir.path(), PingVerbs());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  for (const std::string bad :
       {"not json", "[\"ping\"]", R"({"verb":"ping","extra":1})", R"({"verb":"ping","args":[1]})",
        R"({"verb":"Ping"})", R"({"verb":7})", R"({"args":{}})"}) {
    Raw raw(dir.path());
    ASSERT_TRUE(raw.connected());
    raw.SendFrame(bad);
    EXPECT_EQ(ErrorCode(raw.Answer()), "invalid_argument") << bad;
  }
  Raw empty(dir.path());
  empty.Send(std::string_view("\0\0\0\0", 4));
  EXPECT_EQ(ErrorCode(empty.Answer()), "payload_too_large") << "a zero length";
}

TEST(ControlSocket, ASilentClientIsCutOff) {
  TempDir dir;
  auto server =
      ControlServer::Start(dir.path(), PingVerbs(), {.io_timeout = std::chrono::milliseconds(200)});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Raw raw(dir.path());
  ASSERT_TRUE(raw.connected());
  raw.Send("\0\0");  // half a length, then nothing
  EXPECT_TRUE(raw.ClosedByServer());
  EXPECT_TRUE(CallServer(dir.path(), "ping", nlohmann::json::object(), kWait).ok())
      << "and the server goes on answering others";
}

TEST(ControlSocket, WithoutAServerTheClientSaysSo) {
  TempDir dir;
  auto none = CallServer(dir.path(), "ping", nlohmann::json::object(), kWait);
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(none.status().reason(), kNoServer);
  auto missing = CallServer(dir.File("missing"), "ping", nlohmann::json::object(), kWait);
  EXPECT_EQ(missing.status().reason(), kNoServer);
}

TEST(ControlSocket, AStaleSocketOfAKilledServerIsReplaced) {
  TempDir dir;
  {
    // What a killed server leaves: a socket file nobody listens on.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    socklen_t length = 0;
    int dir_fd = -1;
    ASSERT_TRUE(UnixAddressOf(dir.path(), kSocketName, &addr, &length, &dir_fd).ok());
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), length), 0);
    ::close(fd);
    if (dir_fd >= 0) ::close(dir_fd);
  }
  ASSERT_TRUE(std::filesystem::exists(SocketPath(dir.path())));
  auto before = CallServer(dir.path(), "ping", nlohmann::json::object(), kWait);
  EXPECT_EQ(before.status().reason(), kNoServer) << "a stale socket is no server";
  auto server = ControlServer::Start(dir.path(), PingVerbs());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_TRUE(CallServer(dir.path(), "ping", nlohmann::json::object(), kWait).ok());
  (*server)->Stop();
  EXPECT_FALSE(std::filesystem::exists(SocketPath(dir.path()))) << "removed at the stop";
}

TEST(ControlSocket, ASecondServerDoesNotStealTheSocket) {
  TempDir dir;
  auto first = ControlServer::Start(dir.path(), PingVerbs("first"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = ControlServer::Start(dir.path(), PingVerbs("second"));
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  auto pong = CallServer(dir.path(), "ping", nlohmann::json::object(), kWait);
  ASSERT_TRUE(pong.ok()) << pong.status().ToString();
  EXPECT_EQ((*pong)["who"], "first");
  // Once the first stops, a new one takes over.
  (*first)->Stop();
  auto third = ControlServer::Start(dir.path(), PingVerbs("third"));
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_EQ((*CallServer(dir.path(), "ping", nlohmann::json::object(), kWait))["who"], "third");
}

TEST(ControlSocket, StopEndsAHandlerThatWaitsAndTellsTheClient) {
  TempDir dir;
  std::mutex mu;
  std::condition_variable_any cv;
  bool waiting = false;
  Verbs verbs;
  ASSERT_TRUE(verbs
                  .Add("wait",
                       [&](const Call& call) -> Result<nlohmann::json> {
                         std::unique_lock lock(mu);
                         waiting = true;
                         cv.notify_all();
                         cv.wait(lock, call.stop, [] { return false; });
                         return Unavailable("the server is stopping");
                       })
                  .ok());
  auto server = ControlServer::Start(dir.path(), std::move(verbs));
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  Result<nlohmann::json> answer = Internal("not yet");
  std::thread client(
      [&] { answer = CallServer(dir.path(), "wait", nlohmann::json::object(), kWait); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return waiting; }));
  }
  (*server)->Stop();
  client.join();
  EXPECT_EQ(answer.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(answer.status().message(), "the server is stopping");
}

TEST(ControlSocket, WorksInADirectoryWithALongPath) {
  TempDir dir;
  std::string deep = dir.path();
  while (deep.size() < 200) deep += "/a-rather-long-directory-name";
  std::filesystem::create_directories(deep);
  auto server = ControlServer::Start(deep, PingVerbs());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_TRUE(CallServer(deep, "ping", nlohmann::json::object(), kWait).ok());
  struct stat st {};
  ASSERT_EQ(::lstat(SocketPath(deep).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
}

TEST(ControlVerbs, RefusesBadNamesAndDuplicates) {
  Verbs verbs;
  const Handler h = [](const Call&) -> Result<nlohmann::json> { return nlohmann::json{}; };
  EXPECT_EQ(verbs.Add("", h).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verbs.Add("Backup.run", h).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verbs.Add("backup run", h).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verbs.Add("backup.run", nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(verbs.Add("backup.run", h).ok());
  EXPECT_EQ(verbs.Add("backup.run", h).code(), StatusCode::kAlreadyExists);
  EXPECT_NE(verbs.Find("backup.run"), nullptr);
  EXPECT_EQ(verbs.Find("backup.list"), nullptr);
}

}  // namespace
}  // namespace pactum::control

#include "tests/support/pactum_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/temp_dir.h"

namespace pactum::testing_support {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string PactumBinary() {
  const char* p = std::getenv("PACTUM_BINARY");  // NOLINT(concurrency-mt-unsafe)
  return p != nullptr ? p : "pactum";
}

PactumProcess::~PactumProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool PactumProcess::Start(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env,
                          const std::string& work_dir, const std::string& stdin_file) {
  static int counter = 0;
  const std::string tag = std::to_string(::getpid()) + "_" + std::to_string(counter++);
  out_file_ = work_dir + "/stdout_" + tag;
  err_file_ = work_dir + "/stderr_" + tag;
  pid_ = ::fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    const int out = ::open(out_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    const int in = ::open(stdin_file.empty() ? "/dev/null" : stdin_file.c_str(), O_RDONLY);
    ::dup2(in, 0);
    // The child is single-threaded after fork.
    for (const auto& [k, v] : env) {
      ::setenv(k.c_str(), v.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    }
    std::vector<std::string> argv_s = {PactumBinary()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(argv_s.size() + 1);
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return true;
}

std::string PactumProcess::WaitReady(const std::string& ready_file,
                                     std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string url = Slurp(ready_file);
    if (!url.empty() && url.back() == '\n') {
      url.pop_back();
      return url;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

void PactumProcess::Signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

int PactumProcess::Wait(std::chrono::milliseconds limit) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return DecodeStatus(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

std::string PactumProcess::Stdout() const { return Slurp(out_file_); }
std::string PactumProcess::Stderr() const { return Slurp(err_file_); }

long PactumProcess::RssKib() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

CommandResult RunPactum(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env) {
  TempDir work;
  PactumProcess p;
  CommandResult r;
  if (!p.Start(args, env, work.path())) return r;
  r.exit_code = p.Wait(std::chrono::seconds(60));
  r.out = p.Stdout();
  r.err = p.Stderr();
  return r;
}

CommandResult RunPactumWithInput(const std::vector<std::string>& args, const std::string& input) {
  TempDir work;
  const std::string stdin_file = work.File("stdin");
  std::ofstream(stdin_file, std::ios::binary) << input;
  PactumProcess p;
  CommandResult r;
  if (!p.Start(args, {}, work.path(), stdin_file)) return r;
  r.exit_code = p.Wait(std::chrono::seconds(60));
  r.out = p.Stdout();
  r.err = p.Stderr();
  return r;
}

}  // namespace pactum::testing_support

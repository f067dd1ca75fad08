#pragma once

// Runs the real `pactum` binary (path from $PACTUM_BINARY, set by ctest) as a child
// process with extra environment variables, capturing stdout and stderr to files.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <sys/types.h>

namespace pactum::testing_support {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string PactumBinary();

// Runs `pactum args...` to completion.
CommandResult RunPactum(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env = {});

// Runs `pactum args...` to completion with `input` on its stdin.
CommandResult RunPactumWithInput(const std::vector<std::string>& args, const std::string& input);

class PactumProcess {
 public:
  ~PactumProcess();
  // Starts `pactum args...`; `work_dir` holds the captured output files. Stdin is
  // `stdin_file`, or /dev/null when empty.
  bool Start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
             const std::string& work_dir, const std::string& stdin_file = {});
  // Waits until `ready_file` holds a URL; "" on timeout or early exit.
  std::string WaitReady(const std::string& ready_file,
                        std::chrono::milliseconds limit = std::chrono::seconds(30));
  void Signal(int sig) const;
  // Waits for exit; the exit code, or 128+signal, or -1 on timeout (then kills it).
  int Wait(std::chrono::milliseconds limit = std::chrono::seconds(30));
  std::string Stdout() const;
  std::string Stderr() const;
  pid_t pid() const { return pid_; }
  // Resident set size in KiB from /proc, or -1.
  long RssKib() const;

 private:
  pid_t pid_ = -1;
  std::string out_file_, err_file_;
};

}  // namespace pactum::testing_support

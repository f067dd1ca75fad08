#pragma once

// A fresh directory per test, removed when the object goes out of scope.

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace pactum::testing_support {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "pactum_XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace pactum::testing_support

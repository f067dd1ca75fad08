#pragma once

// Random key material for tests.

#include <memory>

#include "crypto/random.h"
#include "crypto/secret.h"

namespace pactum::testing_support {

// A fresh random 256-bit key.
inline std::shared_ptr<const crypto::SecretBytes> RandomKey() {
  auto key = std::make_shared<crypto::SecretBytes>(32);
  crypto::RandomBytes(key->span());
  return key;
}

}  // namespace pactum::testing_support

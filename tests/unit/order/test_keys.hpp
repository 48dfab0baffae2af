#pragma once
// An RSA key pair made by the test itself with OpenSSL EVP, as PEM text. Shared by the
// unit and integration tests of order-service (so no key material lives in the repository).
#include <string>

#include "order-service/intake/form.hpp"

namespace paynotify::order::testing {

struct TestKeyPair {
  std::string private_pem;  // PKCS#8 "PRIVATE KEY"
  std::string public_pem;   // SubjectPublicKeyInfo "PUBLIC KEY"
};

/// A fresh 2048-bit RSA key pair. Throws std::runtime_error if OpenSSL fails.
TestKeyPair GenerateRsaKeyPair();

/// A process-wide pair generated once (key generation takes a while).
const TestKeyPair& SharedKeyPair();

/// The fields as an application/x-www-form-urlencoded body, the way the platform posts them.
std::string EncodeForm(const FormFields& fields);

}  // namespace paynotify::order::testing

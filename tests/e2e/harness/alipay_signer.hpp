#pragma once
// The payment platform's side of an Alipay-style notification, for tests and the demo:
// a fresh RSA key pair and the RSA2 (SHA256withRSA) signature over the sorted parameters.
// This is deliberately written independently of order-service's verifier, so a test that
// signs here and verifies there checks the contract, not one implementation against itself.
#include <map>
#include <memory>
#include <string>

namespace paynotify::e2e {

class AlipaySigner {
 public:
  /// Generates a 2048-bit RSA key pair (takes ~50 ms).
  AlipaySigner();
  ~AlipaySigner();
  AlipaySigner(const AlipaySigner&) = delete;
  AlipaySigner& operator=(const AlipaySigner&) = delete;

  /// The public key as PEM (SubjectPublicKeyInfo), what order-service is configured with.
  std::string PublicKeyPem() const;
  void WritePublicKeyPem(const std::string& path) const;

  /// Adds sign_type=RSA2 and sign=<base64 signature> to `params` and returns them.
  std::map<std::string, std::string> Sign(std::map<std::string, std::string> params) const;

  /// The string that is signed: params sorted by name, without sign and sign_type, empty
  /// values left out, joined as k=v&k=v.
  static std::string SigningString(const std::map<std::string, std::string>& params);

  /// application/x-www-form-urlencoded encoding of the parameters.
  static std::string FormEncode(const std::map<std::string, std::string>& params);

 private:
  struct Key;
  std::unique_ptr<Key> key_;
};

}  // namespace paynotify::e2e

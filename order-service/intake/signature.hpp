#pragma once
/// RSA2 signatures of payment notifications, Alipay-compatible: SHA256withRSA over the
/// notification's fields sorted by name, without `sign` and `sign_type` and without fields
/// whose value is empty, joined as "k=v&k=v" (decoded values, no escaping), signature in
/// base64 (PKCS#1 v1.5 padding).
#include <memory>
#include <string>
#include <string_view>

#include "order-service/intake/form.hpp"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's own forward declaration

namespace paynotify::order {

/// The longest `sign` Verify() decodes: base64 of a 4096-bit RSA signature is 684 characters.
inline constexpr size_t kMaxSignLength = 1024;

/// The exact text that is signed for `fields` (see the file comment). Values are joined
/// unescaped (as the platform does), so the text is ambiguous when a value holds '&' or '=':
/// ParseForm keeps names to [A-Za-z0-9_] and ParseNotification refuses both characters in
/// the values it acts on. Linear in the fields' total size.
std::string SignContent(const FormFields& fields);

/// Outcome of a signature check; `reason` names what is wrong ("sign: missing",
/// "sign: signature does not match", "sign_type: expected RSA2, got 'RSA'").
struct SignatureCheck {
  bool ok = false;
  std::string reason;
};

/// Verifies notifications with the payment platform's public key. Immutable after
/// construction; Verify() is thread-safe (OpenSSL 3 allows concurrent use of one key).
class SignatureVerifier {
 public:
  /// `key_text` is a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) block, or the bare base64 of
  /// one as the Alipay console shows it. Throws std::invalid_argument if it is not an RSA
  /// public key.
  static SignatureVerifier FromPublicKey(std::string_view key_text);
  /// Reads the key from a file. Throws std::invalid_argument naming the file on failure.
  static SignatureVerifier FromPublicKeyFile(const std::string& path);

  /// Checks `sign_type` (must be RSA2) and `sign` (at most kMaxSignLength characters)
  /// against SignContent(fields). Reasons echo sign_type escaped and bounded.
  SignatureCheck Verify(const FormFields& fields) const;

 private:
  explicit SignatureVerifier(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

/// Signs `fields` as the payment platform would (base64 RSA2 signature of SignContent).
/// `private_key_pem` is a PEM private key (PKCS#8 or traditional RSA). For tests, demos and
/// the local notification simulator; throws std::invalid_argument on a bad key.
std::string Rsa2Sign(const FormFields& fields, std::string_view private_key_pem);

/// Standard base64 with padding; Base64Decode returns false on invalid input (whitespace
/// is ignored).
std::string Base64Encode(std::string_view bytes);
bool Base64Decode(std::string_view text, std::string& out);

}  // namespace paynotify::order

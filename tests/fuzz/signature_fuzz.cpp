// Fuzz target: signature checking of payment notifications (order-service/intake/
// signature.*) over form bodies (form.*): base64, the canonical text and the RSA2 check.
// A key pair is generated at start-up, so no input (seed corpus included) can carry a
// valid signature by accident.
//
// Properties, beyond "no crash, no sanitizer report":
//  - no input verifies against a key nobody signed with;
//  - fields signed as the platform signs them (Rsa2Sign) verify, and stop verifying when a
//    signed field is added or changed: the canonical text the verifier rebuilds is the one
//    the signer signed, whatever the names and values;
//  - Base64Decode(Base64Encode(x)) == x;
//  - the reject reason is printable and bounded (it is logged and echoed to the platform).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "order-service/intake/form.hpp"
#include "order-service/intake/signature.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace paynotify::order;

struct Keys {
  std::string private_pem;
  std::optional<SignatureVerifier> verifier;
};

std::string WritePem(EVP_PKEY* key, bool private_key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  const int ok = private_key
                     ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                     : PEM_write_bio_PUBKEY(bio.get(), key);
  FUZZ_CHECK(ok == 1, "writing the generated key as PEM");
  char* bytes = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &bytes);
  return std::string(bytes, static_cast<size_t>(length));
}

// Why 1024 bits: the property is about what gets signed, not key strength, and a smaller key
// signs several times faster, which buys the fuzzer more executions.
const Keys& GeneratedKeys() {
  static const Keys keys = [] {
    Keys k;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(1024), &EVP_PKEY_free);
    FUZZ_CHECK(key != nullptr, "generating an RSA key");
    k.private_pem = WritePem(key.get(), true);
    k.verifier = SignatureVerifier::FromPublicKey(WritePem(key.get(), false));
    return k;
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  GeneratedKeys();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const Keys& keys = GeneratedKeys();

  std::string decoded;
  FUZZ_CHECK(Base64Decode(Base64Encode(body), decoded) && decoded == body,
             "Base64Decode(Base64Encode(x)) == x");
  Base64Decode(body, decoded);  // any text: no crash, no sanitizer report

  FormFields fields = ParseForm(body).fields;
  const SignatureCheck unsigned_check = keys.verifier->Verify(fields);
  FUZZ_CHECK(!unsigned_check.ok, "nothing verifies against a key nobody signed with");
  FUZZ_CHECK_ERROR_TEXT(unsigned_check.reason);

  fields["sign_type"] = "RSA2";
  fields.erase("sign");
  fields["sign"] = Rsa2Sign(fields, keys.private_pem);
  const SignatureCheck signed_check = keys.verifier->Verify(fields);
  FUZZ_CHECK(signed_check.ok, "fields signed with Rsa2Sign verify");

  // Tamper with the signed content: change the first signed field, or add one.
  auto target = fields.end();
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (it->first != "sign" && it->first != "sign_type" && !it->second.empty()) {
      target = it;
      break;
    }
  }
  if (target != fields.end()) {
    target->second.push_back('0');
  } else {
    fields["zz"] = "0";
  }
  const SignatureCheck tampered = keys.verifier->Verify(fields);
  FUZZ_CHECK(!tampered.ok, "changing a signed field breaks the signature");
  FUZZ_CHECK_ERROR_TEXT(tampered.reason);
  return 0;
}

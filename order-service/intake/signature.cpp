#include "order-service/intake/signature.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "common/text/escape.hpp"

namespace paynotify::order {

namespace {

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  return buffer;
}

struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::shared_ptr<EVP_PKEY> WrapKey(EVP_PKEY* key) {
  return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* k) { EVP_PKEY_free(k); });
}

// The Alipay console hands out the key as bare base64; accept that by adding the PEM armour.
std::string ArmourIfBare(std::string_view key_text, std::string_view label) {
  if (key_text.find("-----BEGIN") != std::string_view::npos) return std::string(key_text);
  std::string body;
  for (char c : key_text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') body.push_back(c);
  }
  std::string pem = fmt::format("-----BEGIN {}-----\n", label);
  for (size_t i = 0; i < body.size(); i += 64) pem += body.substr(i, 64) + "\n";
  pem += fmt::format("-----END {}-----\n", label);
  return pem;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  // EVP_EncodeBlock writes 4 characters per started 3 bytes, padded, no newlines, then a NUL.
  // It takes an int length; a sign or key is a few hundred bytes.
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max() / 4 * 3)) {
    throw std::length_error("Base64Encode: input too large");
  }
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

bool Base64Decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  // OpenSSL's decoder reads '-' as the start of a PEM "-----END" line and ignores everything
  // after it; here it is just a character outside the alphabet.
  if (text.find('-') != std::string_view::npos) return false;
  // The streaming decoder, not EVP_DecodeBlock: it skips white space anywhere, refuses data
  // after '=' and more than two '=', and reports the exact length (EVP_DecodeBlock would
  // count padding as zero bytes and accept '=' in the middle).
  std::unique_ptr<EVP_ENCODE_CTX, decltype(&EVP_ENCODE_CTX_free)> ctx(EVP_ENCODE_CTX_new(),
                                                                      &EVP_ENCODE_CTX_free);
  if (!ctx) return false;
  EVP_DecodeInit(ctx.get());
  std::string decoded(text.size() / 4 * 3 + 3, '\0');
  auto* const buffer = reinterpret_cast<unsigned char*>(decoded.data());
  int length = 0;
  if (EVP_DecodeUpdate(ctx.get(), buffer, &length, reinterpret_cast<const unsigned char*>(text.data()),
                       static_cast<int>(text.size())) < 0) {
    return false;
  }
  int tail = 0;
  // Fails when the input ends inside a 4-character group ("abc").
  if (EVP_DecodeFinal(ctx.get(), buffer + length, &tail) != 1) return false;
  decoded.resize(static_cast<size_t>(length + tail));
  out = std::move(decoded);
  return true;
}

std::string SignContent(const FormFields& fields) {
  std::string content;
  for (const auto& [name, value] : fields) {  // std::map: already sorted by name (bytewise)
    if (name == "sign" || name == "sign_type" || value.empty()) continue;
    if (!content.empty()) content.push_back('&');
    content += name;
    content.push_back('=');
    content += value;
  }
  return content;
}

SignatureVerifier SignatureVerifier::FromPublicKey(std::string_view key_text) {
  const std::string pem = ArmourIfBare(key_text, "PUBLIC KEY");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::invalid_argument("public key: " + OpenSslError());
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    throw std::invalid_argument("public key: not a PEM public key (" + OpenSslError() + ")");
  }
  auto owned = WrapKey(key);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    throw std::invalid_argument("public key: not an RSA key (RSA2 needs RSA)");
  }
  return SignatureVerifier(std::move(owned));
}

SignatureVerifier SignatureVerifier::FromPublicKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument(fmt::format("public key file '{}': cannot be read", path));
  std::stringstream text;
  text << in.rdbuf();
  try {
    return FromPublicKey(text.str());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("public key file '{}': {}", path, e.what()));
  }
}

SignatureCheck SignatureVerifier::Verify(const FormFields& fields) const {
  const auto sign_type = fields.find("sign_type");
  if (sign_type == fields.end() || sign_type->second.empty()) {
    return {false, "sign_type: missing (expected RSA2)"};
  }
  if (sign_type->second != "RSA2") {
    // Echoed before the signature is checked: escaped and bounded (issue 10, log injection).
    return {false, fmt::format("sign_type: expected RSA2, got '{}'", text::Printable(sign_type->second, 64))};
  }
  const auto sign = fields.find("sign");
  if (sign == fields.end() || sign->second.empty()) return {false, "sign: missing"};
  if (sign->second.size() > kMaxSignLength) {
    return {false, fmt::format("sign: longer than {} characters", kMaxSignLength)};
  }
  // A '+' in the base64 that the sender forgot to percent-encode arrives as a space.
  std::string encoded = sign->second;
  for (char& c : encoded) {
    if (c == ' ') c = '+';
  }
  std::string signature;
  if (!Base64Decode(encoded, signature)) return {false, "sign: not valid base64"};

  const std::string content = SignContent(fields);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
    return {false, "sign: cannot verify (" + OpenSslError() + ")"};
  }
  const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                  signature.size(),
                                  reinterpret_cast<const unsigned char*>(content.data()), content.size());
  ERR_clear_error();  // a mismatch leaves an error on the thread's queue
  if (rc != 1) return {false, "sign: signature does not match the notification"};
  return {true, {}};
}

std::string Rsa2Sign(const FormFields& fields, std::string_view private_key_pem) {
  const std::string pem = ArmourIfBare(private_key_pem, "PRIVATE KEY");
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw std::invalid_argument("private key: " + OpenSslError());
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) throw std::invalid_argument("private key: " + OpenSslError());
  auto key = WrapKey(raw);
  const std::string content = SignContent(fields);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(content.data()), content.size()) != 1) {
    throw std::invalid_argument("private key: cannot sign (" + OpenSslError() + ")");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(content.data()), content.size()) != 1) {
    throw std::invalid_argument("private key: cannot sign (" + OpenSslError() + ")");
  }
  signature.resize(length);
  return Base64Encode(signature);
}

}  // namespace paynotify::order

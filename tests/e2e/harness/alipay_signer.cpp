#include "tests/e2e/harness/alipay_signer.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace paynotify::e2e {

struct AlipaySigner::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

AlipaySigner::AlipaySigner() : key_(std::make_unique<Key>()) {
  key_->pkey = EVP_RSA_gen(2048);
  if (key_->pkey == nullptr) throw std::runtime_error("EVP_RSA_gen failed");
}

AlipaySigner::~AlipaySigner() = default;

std::string AlipaySigner::PublicKeyPem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_->pkey) != 1) throw std::runtime_error("PEM_write_bio_PUBKEY failed");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

void AlipaySigner::WritePublicKeyPem(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  out << PublicKeyPem();
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string AlipaySigner::SigningString(const std::map<std::string, std::string>& params) {
  std::string text;
  for (const auto& [k, v] : params) {  // std::map iterates in byte order of the names
    if (k == "sign" || k == "sign_type" || v.empty()) continue;
    if (!text.empty()) text += '&';
    text += k + "=" + v;
  }
  return text;
}

std::map<std::string, std::string> AlipaySigner::Sign(std::map<std::string, std::string> params) const {
  const std::string text = SigningString(params);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  size_t sig_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &sig_len, reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign init failed");
  }
  std::vector<unsigned char> sig(sig_len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &sig_len, reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1) {
    throw std::runtime_error("EVP_DigestSign failed");
  }
  std::vector<unsigned char> b64(4 * ((sig_len + 2) / 3) + 1);
  int n = EVP_EncodeBlock(b64.data(), sig.data(), static_cast<int>(sig_len));
  params["sign_type"] = "RSA2";
  params["sign"] = std::string(reinterpret_cast<char*>(b64.data()), static_cast<size_t>(n));
  return params;
}

std::string AlipaySigner::FormEncode(const std::map<std::string, std::string>& params) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    for (const std::string* part : {&k, &v}) {
      for (unsigned char c : *part) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '*') {
          out += static_cast<char>(c);
        } else if (c == ' ') {
          out += '+';
        } else {
          out += '%';
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
      }
      if (part == &k) out += '=';
    }
  }
  return out;
}

}  // namespace paynotify::e2e

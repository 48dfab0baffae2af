#include "common/http/bearer_auth.hpp"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace paynotify::http {
namespace {

std::array<unsigned char, 32> Digest(std::string_view text) {
  std::array<unsigned char, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

constexpr std::string_view kScheme = "Bearer ";

}  // namespace

BearerAuth::BearerAuth(const std::vector<std::string>& tokens) {
  if (tokens.empty()) throw std::invalid_argument("at least one API token is required");
  for (const auto& token : tokens) {
    if (token.empty()) throw std::invalid_argument("an API token must not be empty");
    digests_.push_back(Digest(token));
  }
}

bool BearerAuth::Allows(const Request& request) const {
  const auto header = request.Header("Authorization");
  if (!header || header->size() <= kScheme.size()) return false;
  // The scheme is case-insensitive (RFC 9110 §11.1).
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>((*header)[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return false;
    }
  }
  // Comparing digests of equal length hides the token's length; checking every token
  // without an early exit hides which one matched.
  const auto presented = Digest(std::string_view(*header).substr(kScheme.size()));
  int matched = 0;
  for (const auto& digest : digests_) {
    matched |= CRYPTO_memcmp(digest.data(), presented.data(), digest.size()) == 0 ? 1 : 0;
  }
  return matched != 0;
}

Handler BearerAuth::Protect(Handler handler) const {
  return [this, handler = std::move(handler)](const Request& request) {
    if (!Allows(request)) {
      Response denied;
      denied.status = 401;
      denied.content_type = "application/json";
      denied.body = R"json({"error":"missing or invalid bearer token (Authorization: Bearer <token>)"})json";
      denied.headers.emplace_back("WWW-Authenticate", "Bearer");
      return denied;
    }
    return handler(request);
  };
}

std::vector<std::string> SplitTokens(std::string_view secret) {
  std::vector<std::string> tokens;
  std::string current;
  for (const char c : secret) {
    if (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

}  // namespace paynotify::http

#pragma once
/// Bearer-token authentication for internal APIs (RFC 6750 `Authorization: Bearer <token>`).
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/server.hpp"

namespace paynotify::http {

/// Accepts a request whose Authorization header carries one of the configured tokens.
/// Tokens are kept only as SHA-256 digests and compared in constant time over every token,
/// so neither the match nor its position leaks through timing. Several tokens allow
/// rotation (add the new one, move clients, remove the old). Thread-safe (immutable).
class BearerAuth {
 public:
  /// `tokens` must be non-empty and contain no empty token (std::invalid_argument).
  explicit BearerAuth(const std::vector<std::string>& tokens);

  /// True when the request carries a configured token.
  bool Allows(const Request& request) const;

  /// Wraps `handler` so a request without a valid token gets 401 (with
  /// `WWW-Authenticate: Bearer`) and never reaches it. `this` must outlive the handler.
  Handler Protect(Handler handler) const;

 private:
  std::vector<std::array<unsigned char, 32>> digests_;
};

/// Splits a secret holding one or more tokens (separated by commas or white space) into the
/// tokens. "" -> {}.
std::vector<std::string> SplitTokens(std::string_view secret);

}  // namespace paynotify::http

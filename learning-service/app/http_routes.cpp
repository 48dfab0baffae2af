#include "learning-service/app/http_routes.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/log/log.hpp"
#include "common/text/escape.hpp"
#include "common/text/utf8.hpp"

namespace paynotify::learning {
namespace {

constexpr const char* kJson = "application/json";
constexpr size_t kMaxUserIdBytes = 64;

http::Response Reply(int status, const nlohmann::json& body) {
  http::Response response;
  response.status = status;
  response.content_type = kJson;
  // Replace, never throw: a stored value that is not UTF-8 must not turn a read into a 500.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

http::Response ReplyError(int status, const std::string& message) {
  return Reply(status, nlohmann::json{{"error", message}});
}

template <class F>
http::Response Guarded(F&& f) {
  try {
    return f();
  } catch (const RepositoryError& e) {
    const bool down = e.kind() == FailureKind::kUnavailable;
    log::Get("http")->warn("query failed: {}; answered {}", text::Printable(e.what()),
                           down ? 503 : 500);
    return ReplyError(down ? 503 : 500, down ? "database unavailable" : "query failed");
  }
}

}  // namespace

void RegisterRoutes(http::Server& server, PgEnrollmentReader& reader) {
  server.Handle("GET", "/choosecourse/{id}", [&reader](const http::Request& request) {
    const std::string& text = request.path_params.at(0);
    int64_t id = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || ptr != text.data() + text.size() || id <= 0) {
      return ReplyError(400, "id must be a positive integer, got '" + text::Printable(text, 32) + "'");
    }
    return Guarded([&] {
      auto selection = reader.FindSelection(id);
      if (!selection) return ReplyError(404, "no course selection with id " + text);
      return Reply(200, *selection);
    });
  });

  server.Handle("GET", "/coursetables", [&reader](const http::Request& request) {
    const std::string user_id = request.QueryParam("userId").value_or("");
    if (user_id.empty()) return ReplyError(400, "query parameter userId is required");
    if (user_id.size() > kMaxUserIdBytes || !text::IsValidUtf8(user_id)) {
      return ReplyError(400, "query parameter userId must be UTF-8 text of at most 64 bytes");
    }
    return Guarded([&] { return Reply(200, reader.CourseTables(user_id)); });
  });
}

}  // namespace paynotify::learning

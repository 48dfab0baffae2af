#include "learning-service/app/http_routes.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "common/log/log.hpp"

namespace paynotify::learning {
namespace {

constexpr const char* kJson = "application/json";

void Reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void ReplyError(httplib::Response& res, int status, const std::string& message) {
  Reply(res, status, nlohmann::json{{"error", message}});
}

template <class F>
void Guarded(httplib::Response& res, F&& f) {
  try {
    f();
  } catch (const RepositoryError& e) {
    const bool down = e.kind() == FailureKind::kUnavailable;
    log::Get("http")->warn("query failed: {}; answered {}", e.what(), down ? 503 : 500);
    ReplyError(res, down ? 503 : 500, down ? "database unavailable" : "query failed");
  } catch (const std::exception& e) {
    log::Get("http")->error("query failed: {}; answered 500", e.what());
    ReplyError(res, 500, "internal error");
  }
}

}  // namespace

void RegisterRoutes(httplib::Server& routes, PgEnrollmentReader& reader) {
  routes.Get(R"(/choosecourse/([^/]+))", [&reader](const httplib::Request& req, httplib::Response& res) {
    const std::string text = req.matches[1];
    int64_t id = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || ptr != text.data() + text.size() || id <= 0) {
      ReplyError(res, 400, "id must be a positive integer, got '" + text + "'");
      return;
    }
    Guarded(res, [&] {
      auto selection = reader.FindSelection(id);
      if (!selection) {
        ReplyError(res, 404, "no course selection with id " + text);
        return;
      }
      Reply(res, 200, *selection);
    });
  });

  routes.Get("/coursetables", [&reader](const httplib::Request& req, httplib::Response& res) {
    const std::string user_id = req.get_param_value("userId");
    if (user_id.empty()) {
      ReplyError(res, 400, "query parameter userId is required");
      return;
    }
    Guarded(res, [&] { Reply(res, 200, reader.CourseTables(user_id)); });
  });
}

}  // namespace paynotify::learning

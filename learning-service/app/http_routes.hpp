#pragma once
/// The learning-service HTTP API (besides /healthz, /readyz, /metrics from common/http):
///   GET /choosecourse/{id}        -> 200 the selection (JSON object) | 404 | 400 bad id
///   GET /coursetables?userId=...  -> 200 the learner's course-table rows (JSON array) | 400
///                                    (missing, not UTF-8 or longer than 64 bytes)
/// Database unreachable -> 503; any other failure -> 500 with {"error": "..."}.
#include "common/http/server.hpp"

#include "learning-service/enrollment/pg_enrollment_repository.hpp"

namespace paynotify::learning {

/// Registers the routes; `reader` must outlive the server. Handlers are thread-safe.
void RegisterRoutes(http::Server& server, PgEnrollmentReader& reader);

}  // namespace paynotify::learning

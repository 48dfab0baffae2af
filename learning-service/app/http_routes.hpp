#pragma once
/// The learning-service HTTP API (besides /healthz, /readyz, /metrics from common/http):
///   GET /choosecourse/{id}        -> 200 the selection (JSON object) | 404 | 400 bad id
///   GET /coursetables?userId=...  -> 200 the learner's course-table rows (JSON array) | 400
/// Database unreachable -> 503; any other failure -> 500 with {"error": "..."}.
#include <httplib.h>

#include "learning-service/enrollment/pg_enrollment_repository.hpp"

namespace paynotify::learning {

/// Registers the routes; `reader` must outlive the server. Handlers are thread-safe.
void RegisterRoutes(httplib::Server& routes, PgEnrollmentReader& reader);

}  // namespace paynotify::learning

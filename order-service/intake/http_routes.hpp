#pragma once
/// The HTTP adapter of the intake: maps requests to OrderIntake and its Reply back to
/// cpp-httplib. No decisions here.
#include <httplib.h>

#include "order-service/intake/intake.hpp"

namespace paynotify::order {

/// POST /orders, POST /orders/paynotify, GET /orders/payresult. `intake` must outlive the
/// server. Handlers run concurrently on cpp-httplib's workers (OrderIntake is thread-safe).
void RegisterOrderRoutes(httplib::Server& server, OrderIntake& intake);

}  // namespace paynotify::order

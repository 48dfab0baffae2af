#pragma once
/// The HTTP adapter of the intake: maps requests to OrderIntake and its Reply back to the
/// server. No decisions here, except who may call what (the trust boundary).
#include "common/http/bearer_auth.hpp"
#include "common/http/server.hpp"
#include "order-service/intake/intake.hpp"

namespace paynotify::order {

/// The internet-facing listener: POST /orders/paynotify only (the payment platform calls it;
/// the notification authenticates itself with its RSA2 signature). `intake` must outlive
/// the server.
void RegisterNotifyRoutes(http::Server& public_server, OrderIntake& intake);

/// The internal listener: POST /orders and GET /orders/payresult, each requiring a bearer
/// token `auth` accepts (401 otherwise). `intake` and `auth` must outlive the server.
void RegisterOrderApiRoutes(http::Server& internal_server, OrderIntake& intake,
                            const http::BearerAuth& auth);

}  // namespace paynotify::order

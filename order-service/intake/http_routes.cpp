#include "order-service/intake/http_routes.hpp"

namespace paynotify::order {

namespace {
http::Response ToResponse(Reply reply) {
  http::Response response;
  response.status = reply.status;
  response.content_type = std::move(reply.content_type);
  response.body = std::move(reply.body);
  return response;
}
}  // namespace

void RegisterNotifyRoutes(http::Server& public_server, OrderIntake& intake) {
  public_server.Handle("POST", "/orders/paynotify", [&intake](const http::Request& request) {
    return ToResponse(
        intake.HandleNotify(request.Header("Content-Type").value_or(""), request.body));
  });
}

void RegisterOrderApiRoutes(http::Server& internal_server, OrderIntake& intake,
                            const http::BearerAuth& auth) {
  internal_server.Handle("POST", "/orders", auth.Protect([&intake](const http::Request& request) {
    return ToResponse(
        intake.HandleCreateOrder(request.Header("Content-Type").value_or(""), request.body));
  }));
  internal_server.Handle("GET", "/orders/payresult",
                         auth.Protect([&intake](const http::Request& request) {
                           return ToResponse(intake.HandlePayResult(request.QueryParam("payNo")));
                         }));
}

}  // namespace paynotify::order

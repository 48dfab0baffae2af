#include "order-service/intake/http_routes.hpp"

namespace paynotify::order {

namespace {
void Send(httplib::Response& response, const Reply& reply) {
  response.status = reply.status;
  response.set_content(reply.body, reply.content_type.c_str());
}
}  // namespace

void RegisterOrderRoutes(httplib::Server& server, OrderIntake& intake) {
  server.Post("/orders/paynotify", [&intake](const httplib::Request& request, httplib::Response& response) {
    Send(response, intake.HandleNotify(request.get_header_value("Content-Type"), request.body));
  });
  server.Post("/orders", [&intake](const httplib::Request& request, httplib::Response& response) {
    Send(response, intake.HandleCreateOrder(request.get_header_value("Content-Type"), request.body));
  });
  server.Get("/orders/payresult", [&intake](const httplib::Request& request, httplib::Response& response) {
    std::optional<std::string> pay_no;
    if (request.has_param("payNo")) pay_no = request.get_param_value("payNo");
    Send(response, intake.HandlePayResult(pay_no));
  });
}

}  // namespace paynotify::order

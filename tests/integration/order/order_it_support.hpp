#pragma once
// Fixture for order-service integration tests: a private schema in the orders database, a
// unique exchange + queue on the local broker, OrderService instances wired exactly as in
// main, and helpers to create orders, send signed notifications and read the queue.
#include <gtest/gtest.h>

#include <httplib.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/amqp/message.hpp"
#include "common/amqp/settings.hpp"
#include "order-service/app/order_service.hpp"
#include "order-service/intake/form.hpp"

namespace paynotify::order::testing {

inline constexpr const char* kTestAppId = "2021000000000042";
inline constexpr const char* kTestApiToken = "order-it-api-token";

class OrderServiceIt : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// The config main would load, pointed at the test servers, schema, exchange and channel.
  OrderServiceConfig MakeConfig() const;
  OrderService& StartService(OrderServiceOptions options = {});
  OrderService& StartService(OrderServiceConfig config, OrderServiceOptions options = {});

  /// Declares the durable test queue and binds it to the test exchange.
  void BindQueue();
  /// Reads (and acks) messages from the test queue until `expected` arrived or `deadline`
  /// passed, then makes sure no further one arrives within `quiet`.
  std::vector<amqp::Delivery> Drain(size_t expected, std::chrono::milliseconds deadline,
                                    std::chrono::milliseconds quiet = std::chrono::milliseconds(500));

  /// POST /orders; returns the payNo.
  int64_t CreateOrder(OrderService& service, const std::string& out_business_id,
                      const std::string& price = "12.30");
  /// `count` orders with their pay records created in SQL, as POST /orders would (12.30 each,
  /// user-it, order type 60201, out_business_id `prefix`-1 .. -count); returns the pay_nos in
  /// ascending order, which is the order of the out_business_ids.
  std::vector<int64_t> CreateOrders(const std::string& prefix, int count);
  /// A notification form for `pay_no`, signed with the test key pair (unless `sign` false).
  FormFields Notification(int64_t pay_no, const std::string& amount = "12.30",
                          const std::string& trade_no = "T-1") const;
  std::string SignedBody(FormFields fields) const;
  httplib::Result PostNotify(OrderService& service, const std::string& body);
  /// A client of the internal listener (order API, /readyz, /metrics) with the test token.
  httplib::Client ApiClient(OrderService& service);

  /// A single value from the test schema (search_path is set), e.g. "SELECT count(*) FROM mq_message".
  std::string Scalar(const std::string& sql);
  void Exec(const std::string& sql);

  amqp::BrokerSettings broker_;
  std::string schema_;
  std::string exchange_;
  std::string queue_;
  std::string channel_;
  std::vector<std::unique_ptr<OrderService>> services_;
};

/// Splits "a=1&b=2" style bodies built by FormFields.
std::string EncodeForm(const FormFields& fields);

}  // namespace paynotify::order::testing

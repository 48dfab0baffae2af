#include "order-service/intake/intake.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/log/log.hpp"
#include "common/messages/mq_message.hpp"
#include "order-service/intake/amount.hpp"
#include "order-service/intake/form.hpp"
#include "order-service/intake/notification.hpp"

namespace paynotify::order {

namespace {

constexpr std::string_view kJson = "application/json";

bool ContentTypeIs(std::string_view content_type, std::string_view expected) {
  // "application/x-www-form-urlencoded; charset=utf-8" -> compare the media type only.
  const size_t semicolon = content_type.find(';');
  std::string_view media = content_type.substr(0, semicolon);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != expected.size()) return false;
  for (size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) != expected[i]) return false;
  }
  return true;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

Reply JsonReply(int status, const nlohmann::json& body) {
  return Reply{status, std::string(kJson), body.dump()};
}

nlohmann::json PaymentJson(const PaymentRow& p) {
  nlohmann::json j{{"payNo", p.pay_no},
                   {"orderId", p.order_id},
                   {"outBusinessId", p.out_business_id},
                   {"orderType", p.order_type},
                   {"userId", p.user_id},
                   {"totalPrice", FormatAmount(p.total_cents)},
                   {"status", p.status},
                   {"orderStatus", p.order_status},
                   {"paid", p.status == kPayPaid}};
  j["tradeNo"] = p.out_pay_no ? nlohmann::json(*p.out_pay_no) : nlohmann::json(nullptr);
  j["paySuccessTime"] =
      p.pay_success_time ? nlohmann::json(*p.pay_success_time) : nlohmann::json(nullptr);
  return j;
}

}  // namespace

std::string ErrorsJson(const std::vector<std::string>& errors) {
  return nlohmann::json{{"errors", errors}}.dump();
}

OrderIntake::OrderIntake(IntakeSettings settings, OrderStore& store,
                         std::optional<SignatureVerifier> verifier, metrics::Registry& registry)
    : settings_(std::move(settings)),
      store_(store),
      verifier_(std::move(verifier)),
      registry_(registry),
      received_(registry.GetCounter("paynotify_notifications_received_total",
                                    "Payment notifications received (POST /orders/paynotify)")),
      applied_(registry.GetCounter("paynotify_notifications_applied_total",
                                   "Notifications that marked a payment paid and queued its message")),
      duplicates_(registry.GetCounter("paynotify_notifications_duplicate_total",
                                      "Notifications for an already-paid record (answered success, no effect)")),
      ignored_(registry.GetCounter("paynotify_notifications_ignored_total",
                                   "Notifications with a non-final trade_status (answered success, no effect)")) {}

Reply OrderIntake::Reject(int status, std::string_view metric_reason, const std::string& reason) {
  registry_
      .GetCounter("paynotify_notifications_rejected_total",
                  "Payment notifications answered 'failure', by reason",
                  {{"reason", std::string(metric_reason)}})
      .Inc();
  log::Get("intake")->warn("paynotify: rejected status={} reason={}; the platform will retry", status,
                           reason);
  return Reply{status, "text/plain; charset=utf-8", "failure\n" + reason + "\n"};
}

Reply OrderIntake::StoreFailure(const StoreError& error, std::string_view what) {
  switch (error.kind()) {
    case StoreError::Kind::kUnavailable:
      return Reject(503, "database_unavailable",
                    fmt::format("database unavailable while {}: {}", what, error.what()));
    case StoreError::Kind::kConflict:
      return Reject(409, "conflict", fmt::format("conflict while {}: {}", what, error.what()));
    case StoreError::Kind::kInternal:
      break;
  }
  log::Get("intake")->error("paynotify: internal error while {}: {}", what, error.what());
  return Reject(500, "internal", fmt::format("internal error while {}", what));
}

Reply OrderIntake::HandleNotify(std::string_view content_type, std::string_view body) {
  received_.Inc();
  if (!content_type.empty() && !ContentTypeIs(content_type, "application/x-www-form-urlencoded")) {
    return Reject(415, "malformed",
                  fmt::format("content type: expected application/x-www-form-urlencoded, got '{}'",
                              content_type));
  }
  const FormParse form = ParseForm(body);
  if (!form.errors.empty()) return Reject(400, "malformed", Join(form.errors, "; "));

  if (verifier_) {
    const SignatureCheck check = verifier_->Verify(form.fields);
    if (!check.ok) return Reject(400, "bad_signature", check.reason);
  }
  const NotificationParse parsed = ParseNotification(form.fields);
  if (!parsed.notification) return Reject(400, "malformed", Join(parsed.errors, "; "));
  const PayNotification& n = *parsed.notification;
  if (n.app_id != settings_.app_id) {
    return Reject(400, "app_id_mismatch",
                  fmt::format("app_id: '{}' is not our application id", n.app_id));
  }
  if (!n.IsPaid()) {
    // WAIT_BUYER_PAY, TRADE_CLOSED, ...: acknowledged so the platform stops sending it.
    ignored_.Inc();
    log::Get("intake")->info("paynotify: ignored pay_no={} trade_status={}", n.pay_no, n.trade_status);
    return Reply{200, "text/plain; charset=utf-8", "success"};
  }

  try {
    std::unique_ptr<PaymentTransaction> tx = store_.BeginPayment();
    const std::optional<PaymentRow> row = tx->LockPayment(n.pay_no);
    if (!row) {
      return Reject(404, "unknown_pay_no", fmt::format("out_trade_no: unknown payNo {}", n.pay_no));
    }
    if (row->status == kPayPaid) {
      // Repeated notification: nothing to write, nothing to publish (tx rolls back).
      duplicates_.Inc();
      log::Get("intake")->info("paynotify: already paid pay_no={} trade_no={}; answered success",
                               n.pay_no, n.trade_no);
      return Reply{200, "text/plain; charset=utf-8", "success"};
    }
    if (row->status != kPayUnpaid) {
      return Reject(409, "not_payable",
                    fmt::format("out_trade_no: payment {} has status {} and cannot be paid",
                                n.pay_no, row->status));
    }
    if (n.total_amount_cents != row->total_cents) {
      return Reject(400, "amount_mismatch",
                    fmt::format("total_amount: {} does not equal the order's amount {}",
                                FormatAmount(n.total_amount_cents), FormatAmount(row->total_cents)));
    }
    const OutboxRowRef outbox = tx->MarkPaid(
        PaidUpdate{n.pay_no, row->order_id, n.trade_no, settings_.pay_channel},
        OutboxInsert{std::string(messages::kPaymentResultType), row->out_business_id,
                     row->order_type, std::nullopt});
    tx->Commit();
    applied_.Inc();
    // debug, not info: this is the hot path (issue 6); the database keeps the record and
    // paynotify_notifications_applied_total counts it.
    log::Get("intake")->debug(
        "paynotify: paid pay_no={} order_id={} trade_no={} outbox_id={} message_id={}", n.pay_no,
        row->order_id, n.trade_no, outbox.id, outbox.message_id);
    return Reply{200, "text/plain; charset=utf-8", "success"};
  } catch (const StoreError& e) {
    return StoreFailure(e, fmt::format("applying payment {}", n.pay_no));
  }
}

Reply OrderIntake::HandleCreateOrder(std::string_view content_type, std::string_view body) {
  if (!content_type.empty() && !ContentTypeIs(content_type, kJson)) {
    return Reply{415, std::string(kJson),
                 ErrorsJson({fmt::format("content type: expected application/json, got '{}'",
                                         content_type)})};
  }
  NewOrderParse parsed = ParseNewOrder(body);
  if (!parsed.order) return Reply{400, std::string(kJson), ErrorsJson(parsed.errors)};
  const NewOrder& order = *parsed.order;
  OrderRef ref;
  try {
    ref = store_.CreateOrGetOrder(order);
  } catch (const StoreError& e) {
    const int status = e.kind() == StoreError::Kind::kUnavailable ? 503
                       : e.kind() == StoreError::Kind::kConflict  ? 409
                                                                  : 500;
    if (status == 500) log::Get("intake")->error("orders: internal error: {}", e.what());
    return Reply{status, std::string(kJson),
                 ErrorsJson({status == 500 ? std::string("internal error") : std::string(e.what())})};
  }
  const PaymentRow& p = ref.payment;
  if (!ref.created) {
    std::vector<std::string> conflicts;
    if (p.user_id != order.user_id) {
      conflicts.push_back(fmt::format(
          "userId: an order for outBusinessId {} exists for another user", order.out_business_id));
    }
    if (p.total_cents != order.total_cents) {
      conflicts.push_back(fmt::format(
          "totalPrice: an order for outBusinessId {} exists with amount {}, not {}",
          order.out_business_id, FormatAmount(p.total_cents), FormatAmount(order.total_cents)));
    }
    if (p.order_status != kOrderUnpaid || p.status != kPayUnpaid) {
      conflicts.push_back(fmt::format(
          "outBusinessId: the order for {} is no longer unpaid (order status {}, pay status {})",
          order.out_business_id, p.order_status, p.status));
    }
    if (!conflicts.empty()) return Reply{409, std::string(kJson), ErrorsJson(conflicts)};
  } else {
    log::Get("intake")->info("orders: created order_id={} pay_no={} out_business_id={} amount={}",
                             p.order_id, p.pay_no, p.out_business_id, FormatAmount(p.total_cents));
  }
  return JsonReply(ref.created ? 201 : 200, nlohmann::json{{"orderId", p.order_id},
                                                          {"payNo", p.pay_no},
                                                          {"status", p.order_status},
                                                          {"totalPrice", FormatAmount(p.total_cents)},
                                                          {"created", ref.created}});
}

Reply OrderIntake::HandlePayResult(std::optional<std::string> pay_no_text) {
  if (!pay_no_text || pay_no_text->empty()) {
    return Reply{400, std::string(kJson), ErrorsJson({"payNo: missing query parameter"})};
  }
  const std::optional<int64_t> pay_no = ParsePayNo(*pay_no_text);
  if (!pay_no) {
    return Reply{400, std::string(kJson),
                 ErrorsJson({fmt::format("payNo: expected decimal digits, got '{}'", *pay_no_text)})};
  }
  try {
    const std::optional<PaymentRow> row = store_.FindPayment(*pay_no);
    if (!row) {
      return Reply{404, std::string(kJson), ErrorsJson({fmt::format("payNo: unknown payNo {}", *pay_no)})};
    }
    return JsonReply(200, PaymentJson(*row));
  } catch (const StoreError& e) {
    const int status = e.kind() == StoreError::Kind::kUnavailable ? 503 : 500;
    return Reply{status, std::string(kJson), ErrorsJson({e.what()})};
  }
}

}  // namespace paynotify::order

#include "order-service/intake/intake.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/log/log.hpp"
#include "common/messages/mq_message.hpp"
#include "common/text/escape.hpp"
#include "order-service/intake/amount.hpp"

namespace paynotify::order {

namespace {

using text::Printable;

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kText = "text/plain; charset=utf-8";

// Bound of the reason line in a "failure" reply (and of the reason in its log line): the
// parts are escaped already, this bounds their sum (issue 10).
constexpr size_t kMaxReasonBytes = 1024;
// Bound of the notification summary kept with a payment conflict.
constexpr size_t kMaxSummaryBytes = 2048;
// Bound of a database error's text in a log line (it can quote values: DETAIL lines).
constexpr size_t kMaxStoreErrorBytes = 512;

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

// dump() throws on invalid UTF-8; every string here is escaped already, but a reply must
// never turn into an exception (that was the 500 of issue 10).
std::string Dump(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Reply JsonReply(int status, const nlohmann::json& body) {
  return Reply{status, std::string(kJson), Dump(body)};
}

Reply JsonErrors(int status, std::vector<std::string> errors) {
  return Reply{status, std::string(kJson), ErrorsJson(errors)};
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

// "k=v&k=v" of every field but sign, each value escaped and bounded; whole fields only,
// the rest counted. What the operator sees of a conflicting notification.
std::string Summary(const FormFields& fields) {
  std::string out;
  size_t left_out = 0;
  for (const auto& [name, value] : fields) {
    if (name == "sign") continue;
    std::string part = fmt::format("{}={}", Printable(name, 64), Printable(value, 128));
    if (out.size() + part.size() + 1 > kMaxSummaryBytes) {
      ++left_out;
      continue;
    }
    if (!out.empty()) out += '&';
    out += part;
  }
  if (left_out > 0) out += fmt::format("&...({} more fields)", left_out);
  return out;
}

// The one mapping of a StoreError to an HTTP answer, for every route. The client gets a fixed
// text; the database's text (it can name hosts and users and quote values) goes to the log
// only, escaped and bounded.
struct StoreAnswer {
  int status;
  std::string_view reason;  // metric label and log tag
  std::string text;         // what the client reads
};

StoreAnswer AnswerFor(const StoreError& error, std::string_view what) {
  switch (error.kind()) {
    case StoreError::Kind::kUnavailable:
      return {503, "database_unavailable", fmt::format("database unavailable while {}; try again later", what)};
    case StoreError::Kind::kConflict:
      return {409, "conflict", fmt::format("conflict with a concurrent change or an existing record while {}", what)};
    case StoreError::Kind::kInternal:
      break;
  }
  return {500, "internal", fmt::format("internal error while {}", what)};
}

PayConflict ConflictFor(const PaymentRow& row, const PayNotification& n, const FormFields& fields) {
  return PayConflict{n.pay_no,          n.trade_no,      row.out_pay_no,  row.status,
                     n.total_amount_cents, n.trade_status, Summary(fields)};
}

std::string Optional(const std::optional<std::string>& value) {
  return value ? Printable(*value, 64) : std::string("(none)");
}

}  // namespace

std::string ErrorsJson(const std::vector<std::string>& errors) {
  return Dump(nlohmann::json{{"errors", errors}});
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
                                   "Notifications with a non-final trade_status (answered success, no effect)")),
      conflicts_(registry.GetCounter(
          "paynotify_notifications_pay_conflict_total",
          "Notifications paying an already-paid or refunded payment with another trade_no (a second "
          "charge; recorded in xc_pay_conflict, answered success)")),
      batch_size_(registry.GetHistogram(
          "paynotify_intake_batch_size",
          "Payment notifications applied per intake group statement (group commit; 1 = alone)",
          {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})),  // up to intake.max-batch's bound
      batch_fallbacks_(registry.GetCounter(
          "paynotify_intake_batch_fallbacks_total",
          "Intake groups (of two or more) whose statement failed, so that their members were applied one by one")),
      batch_waiting_(registry.GetGauge("paynotify_intake_batch_waiting",
                                       "Payment notifications queued for the next intake group")) {
  if (settings_.max_batch < 1) settings_.max_batch = 1;
  if (settings_.max_batches_in_flight < 1) settings_.max_batches_in_flight = 1;
}

Reply OrderIntake::Reject(int status, std::string_view metric_reason, std::string reason,
                          std::string_view log_detail) {
  reason = text::CutToBytes(std::move(reason), kMaxReasonBytes);
  registry_
      .GetCounter("paynotify_notifications_rejected_total",
                  "Payment notifications answered 'failure', by reason",
                  {{"reason", std::string(metric_reason)}})
      .Inc();
  // Every part of `reason` (and of `log_detail`) was escaped where it was built. Anyone can
  // send rejects, so their log lines are sampled (the counter above counts every one).
  if (const auto suppressed = reject_log_budget_.Take()) {
    log::Get("intake")->warn("paynotify: rejected status={} reason={}{}{}; the platform will retry{}",
                             status, reason, log_detail.empty() ? "" : " detail=", log_detail,
                             *suppressed == 0 ? std::string()
                                              : fmt::format(" ({} similar lines suppressed)", *suppressed));
  }
  return Reply{status, std::string(kText), "failure\n" + reason + "\n"};
}

Reply OrderIntake::NotifyStoreFailure(const StoreError& error, std::string_view what) {
  const StoreAnswer answer = AnswerFor(error, what);
  return Reject(answer.status, answer.reason, answer.text, Printable(error.what(), kMaxStoreErrorBytes));
}

Reply OrderIntake::JsonStoreFailure(const StoreError& error, std::string_view route, std::string_view what) {
  const StoreAnswer answer = AnswerFor(error, what);
  log::Get("intake")->log(answer.status == 500 ? spdlog::level::err : spdlog::level::warn,
                          "{}: {}: {}; answered {}", route, answer.reason,
                          Printable(error.what(), kMaxStoreErrorBytes), answer.status);
  return JsonErrors(answer.status, {answer.text});
}

Reply OrderIntake::HandleNotify(std::string_view content_type, std::string_view body) {
  try {
    return Notify(content_type, body);
  } catch (const std::exception& e) {
    return Reject(500, "internal", "internal error", Printable(e.what(), kMaxStoreErrorBytes));
  }
}

Reply OrderIntake::Notify(std::string_view content_type, std::string_view body) {
  received_.Inc();
  if (!content_type.empty() && !ContentTypeIs(content_type, "application/x-www-form-urlencoded")) {
    return Reject(415, "malformed",
                  fmt::format("content type: expected application/x-www-form-urlencoded, got '{}'",
                              Printable(content_type, 64)));
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
  // From here on every value of `n` is clean UTF-8 without control characters (checked by
  // ParseNotification); Printable still bounds what goes into a line.
  if (n.app_id != settings_.app_id) {
    return Reject(400, "app_id_mismatch",
                  fmt::format("app_id: '{}' is not our application id", Printable(n.app_id, 64)));
  }
  if (!n.IsPaid()) {
    // WAIT_BUYER_PAY, TRADE_CLOSED, ...: acknowledged so the platform stops sending it.
    ignored_.Inc();
    log::Get("intake")->info("paynotify: ignored pay_no={} trade_status={}", n.pay_no,
                             Printable(n.trade_status, 32));
    return Reply{200, std::string(kText), "success"};
  }

  return Apply(n, form.fields);
}

OrderIntake::Verdict OrderIntake::Decide(const std::optional<PaymentRow>& row, const PayNotification& n) {
  if (!row) return Verdict::kUnknown;
  if (row->status == kPayPaid || row->status == kPayRefunded) {
    // Its own trade_no again (a retry, or the platform's refund notice for it) is nothing to
    // do; another one is a second charge.
    return row->out_pay_no == n.trade_no ? Verdict::kDuplicate : Verdict::kConflict;
  }
  if (row->status != kPayUnpaid) return Verdict::kNotPayable;
  if (n.total_amount_cents != row->total_cents) return Verdict::kAmountMismatch;
  return Verdict::kPay;
}

Reply OrderIntake::Refuse(Verdict verdict, const std::optional<PaymentRow>& row, const PayNotification& n) {
  switch (verdict) {
    case Verdict::kUnknown:
      return Reject(404, "unknown_pay_no", fmt::format("out_trade_no: unknown payNo {}", n.pay_no));
    case Verdict::kDuplicate:
      // Nothing to write, nothing to publish (the transaction rolls back).
      duplicates_.Inc();
      log::Get("intake")->info("paynotify: already {} pay_no={} trade_no={}; answered success",
                               row->status == kPayPaid ? "paid" : "refunded", n.pay_no,
                               Printable(n.trade_no, 64));
      return Reply{200, std::string(kText), "success"};
    case Verdict::kNotPayable:
      return Reject(409, "not_payable",
                    fmt::format("out_trade_no: payment {} has status {} and cannot be paid", n.pay_no,
                                Printable(row->status, 16)));
    case Verdict::kAmountMismatch:
      return Reject(400, "amount_mismatch",
                    fmt::format("total_amount: {} does not equal the order's amount {}",
                                FormatAmount(n.total_amount_cents), FormatAmount(row->total_cents)));
    case Verdict::kConflict:
    case Verdict::kPay:
      break;
  }
  return Reject(500, "internal", "internal error", "a writing decision was answered as a refusal");
}

PaidItem OrderIntake::PaidItemFor(const PaymentRow& row, const PayNotification& n) const {
  return PaidItem{PaidUpdate{n.pay_no, row.order_id, n.trade_no, settings_.pay_channel},
                  OutboxInsert{std::string(messages::kPaymentResultType), row.out_business_id,
                               row.order_type, std::nullopt}};
}

Reply OrderIntake::Paid(int64_t order_id, const PayNotification& n, const OutboxRowRef& outbox) {
  applied_.Inc();
  // debug, not info: this is the hot path (issue 6); the database keeps the record and
  // paynotify_notifications_applied_total counts it.
  log::Get("intake")->debug(
      "paynotify: paid pay_no={} order_id={} trade_no={} outbox_id={} message_id={}", n.pay_no,
      order_id, Printable(n.trade_no, 64), outbox.id, Printable(outbox.message_id, 64));
  return Reply{200, std::string(kText), "success"};
}

// A second charge for a paid (or refunded) record. Answering "failure" would not undo it; it
// would only make the platform retry for 25 hours and then give up, and the learner's money
// would be nowhere. So: a row the operator can query (written by the caller, committed
// before this), a warning with both trade numbers, a counter, and "success" so the platform
// stops.
Reply OrderIntake::Conflicted(const PaymentRow& row, const PayNotification& n, bool recorded_now) {
  conflicts_.Inc();
  log::Get("intake")->warn(
      "paynotify: second payment for pay_no={} status={} recorded_trade_no={} trade_no={} "
      "amount={} trade_status={}; {} xc_pay_conflict, answered success (the money needs an "
      "operator: refund or reassign)",
      n.pay_no, Printable(row.status, 16), Optional(row.out_pay_no), Printable(n.trade_no, 64),
      FormatAmount(n.total_amount_cents), Printable(n.trade_status, 32),
      recorded_now ? "recorded in" : "repeat of a row already in");
  return Reply{200, std::string(kText), "success"};
}

// The locking path: one notification in its own transaction that locks and reads its record
// (a member the fast path did not pay, and the fallback of a failed group). A StoreError
// while recording a conflict is answered 503 by the caller: the platform retries, and the
// repeat finds the row or writes it.
Reply OrderIntake::ApplyOneOrThrow(const PayNotification& n, const FormFields& fields) {
  std::unique_ptr<PaymentTransaction> tx = store_.BeginPayment();
  const std::optional<PaymentRow> row = tx->LockPayment(n.pay_no);
  const Verdict verdict = Decide(row, n);
  if (verdict == Verdict::kPay) {
    const PaidItem item = PaidItemFor(*row, n);
    const OutboxRowRef outbox = tx->MarkPaid(item.update, item.message);
    tx->Commit();
    return Paid(row->order_id, n, outbox);
  }
  if (verdict == Verdict::kConflict) {
    const bool recorded_now = tx->RecordConflict(ConflictFor(*row, n, fields));
    tx->Commit();
    return Conflicted(*row, n, recorded_now);
  }
  return Refuse(verdict, row, n);  // tx rolls back: nothing was written
}

Reply OrderIntake::Apply(const PayNotification& n, const FormFields& fields) {
  Member me{&n, &fields, std::nullopt};
  if (settings_.max_batch <= 1) return std::move(ApplyGroup({&me}).at(0));
  std::unique_lock lock(batch_mutex_);
  waiting_.push_back(&me);
  batch_waiting_.Inc();
  try {
    for (;;) {
      if (me.reply) return std::move(*me.reply);
      if (batches_in_flight_ < settings_.max_batches_in_flight && !waiting_.empty()) {
        // Lead: take what is queued (ourselves included, unless older ones fill the group)
        // and apply it on this thread. Nobody waits for a group to fill.
        const std::vector<Member*> group = TakeGroup();  // throws (if at all) before taking anyone
        ++batches_in_flight_;
        lock.unlock();
        std::vector<Reply> replies;
        try {
          replies = ApplyGroup(group);  // answers its own failures; only bad_alloc gets out
        } catch (...) {
        }
        lock.lock();
        --batches_in_flight_;
        // Every member is answered whatever happened: a member never answered would wait forever.
        for (size_t i = 0; i < group.size(); ++i) {
          group[i]->reply = i < replies.size() ? std::move(replies[i])
                                               : Reply{500, std::string(kText), "failure\ninternal error\n"};
        }
        batch_done_.notify_all();
        continue;
      }
      batch_done_.wait(lock);
    }
  } catch (...) {
    // Never leave a pointer to this stack frame in the queue.
    if (!lock.owns_lock()) lock.lock();
    if (const auto it = std::find(waiting_.begin(), waiting_.end(), &me); it != waiting_.end()) {
      waiting_.erase(it);
      batch_waiting_.Dec();
    }
    throw;
  }
}

std::vector<OrderIntake::Member*> OrderIntake::TakeGroup() {
  // Reserved first, so that nothing below allocates once members start leaving the queue.
  std::vector<Member*> group;
  std::vector<int64_t> pay_nos;
  group.reserve(std::min(settings_.max_batch, waiting_.size()));
  pay_nos.reserve(group.capacity());
  for (auto it = waiting_.begin(); it != waiting_.end() && group.size() < settings_.max_batch;) {
    const int64_t pay_no = (*it)->n->pay_no;
    if (std::find(pay_nos.begin(), pay_nos.end(), pay_no) != pay_nos.end()) {
      ++it;  // the same payment twice: the later one goes in a later group and sees this one
      continue;
    }
    pay_nos.push_back(pay_no);
    group.push_back(*it);
    it = waiting_.erase(it);
  }
  batch_waiting_.Dec(static_cast<double>(group.size()));
  return group;
}

std::vector<Reply> OrderIntake::ApplyGroup(const std::vector<Member*>& group) {
  batch_size_.Observe(static_cast<double>(group.size()));
  std::vector<Reply> replies;
  replies.reserve(group.size());
  try {
    std::vector<PayAttempt> attempts;
    attempts.reserve(group.size());
    for (const Member* m : group) {
      attempts.push_back(PayAttempt{m->n->pay_no, m->n->trade_no, settings_.pay_channel, m->n->total_amount_cents});
    }
    std::vector<PayOutcome> outcomes;
    try {
      outcomes = store_.PayIfPayable(attempts, messages::kPaymentResultType);
    } catch (const StoreError& e) {
      // Alone, the failure is the answer (a lost connection, a lock or pool timeout: 503, and
      // the platform retries); trying again at once would only double the wait.
      if (group.size() == 1) {
        replies.push_back(NotifyStoreFailure(e, fmt::format("applying payment {}", group[0]->n->pay_no)));
        return replies;
      }
      return ApplyOneByOne(group, e);
    }
    if (outcomes.size() != group.size()) {
      throw std::logic_error(fmt::format("the store answered {} outcomes for {} payments", outcomes.size(), group.size()));
    }
    // Not paid by the statement: a repeat, an unknown record or a refusal is answered from the
    // record as the statement read it (committed data; none of those can become payable).
    // A second charge (to be recorded) and a record that read as payable (a concurrent
    // transaction changed it) are decided alone on the locking path, which reads it as it is now.
    std::vector<Verdict> verdicts(group.size(), Verdict::kPay);
    std::vector<Member*> undecided;
    for (size_t i = 0; i < group.size(); ++i) {
      if (outcomes[i].paid) continue;
      verdicts[i] = Decide(outcomes[i].record, *group[i]->n);
      if (verdicts[i] == Verdict::kPay || verdicts[i] == Verdict::kConflict) undecided.push_back(group[i]);
    }
    std::vector<Reply> alone = ApplyEachAlone(undecided);
    for (size_t i = 0, k = 0; i < group.size(); ++i) {
      const PayNotification& n = *group[i]->n;
      if (outcomes[i].paid) {
        replies.push_back(Paid(outcomes[i].paid->order_id, n, outcomes[i].paid->outbox));
      } else if (verdicts[i] == Verdict::kPay || verdicts[i] == Verdict::kConflict) {
        replies.push_back(std::move(alone.at(k++)));
      } else {
        replies.push_back(Refuse(verdicts[i], outcomes[i].record, n));
      }
    }
  } catch (const std::exception& e) {
    // A bug, not the database: every member not answered yet gets the 500 it would get alone.
    while (replies.size() < group.size()) {
      replies.push_back(Reject(500, "internal", "internal error", Printable(e.what(), kMaxStoreErrorBytes)));
    }
  }
  return replies;
}

// The group's statement failed (nothing of it committed, or its commit is in doubt): each
// member again in its own transaction, so that one bad notification (e.g. a trade_no another
// record has) fails only itself. Safe after an in-doubt commit too: the intake is
// idempotent, a member whose payment did commit is found paid (a duplicate: success). A
// database that is down is not asked once per member: after the first member that meets it,
// the rest are answered 503 (the platform retries them).
std::vector<Reply> OrderIntake::ApplyOneByOne(const std::vector<Member*>& group, const StoreError& error) {
  batch_fallbacks_.Inc();
  if (const auto suppressed = fallback_log_budget_.Take()) {
    log::Get("intake")->warn("paynotify: group of {} failed ({}); applying its members one by one{}",
                             group.size(), Printable(error.what(), kMaxStoreErrorBytes),
                             *suppressed == 0 ? std::string()
                                              : fmt::format(" ({} similar lines suppressed)", *suppressed));
  }
  return ApplyEachAlone(group);
}

// Each member in its own transaction on the locking path. A database that is down is not
// asked once per member: after the first member that meets it, the rest are answered 503.
std::vector<Reply> OrderIntake::ApplyEachAlone(const std::vector<Member*>& members) {
  std::vector<Reply> replies;
  replies.reserve(members.size());
  std::optional<StoreError> down;
  for (const Member* m : members) {
    const std::string what = fmt::format("applying payment {}", m->n->pay_no);
    if (down) {
      replies.push_back(NotifyStoreFailure(*down, what));
      continue;
    }
    try {
      replies.push_back(ApplyOneOrThrow(*m->n, *m->fields));
    } catch (const StoreError& e) {
      replies.push_back(NotifyStoreFailure(e, what));
      if (e.kind() == StoreError::Kind::kUnavailable) down = e;
    }
  }
  return replies;
}

Reply OrderIntake::HandleCreateOrder(std::string_view content_type, std::string_view body) {
  try {
    return CreateOrder(content_type, body);
  } catch (const std::exception& e) {
    log::Get("intake")->error("orders: internal error: {}", Printable(e.what(), kMaxStoreErrorBytes));
    return JsonErrors(500, {"internal error"});
  }
}

Reply OrderIntake::CreateOrder(std::string_view content_type, std::string_view body) {
  if (!content_type.empty() && !ContentTypeIs(content_type, kJson)) {
    return JsonErrors(415, {fmt::format("content type: expected application/json, got '{}'",
                                        Printable(content_type, 64))});
  }
  NewOrderParse parsed = ParseNewOrder(body);
  if (!parsed.order) return JsonErrors(400, std::move(parsed.errors));
  const NewOrder& order = *parsed.order;
  OrderRef ref;
  try {
    ref = store_.CreateOrGetOrder(order);
  } catch (const StoreError& e) {
    return JsonStoreFailure(e, "orders", "creating the order");
  }
  const PaymentRow& p = ref.payment;
  // Values echoed below were validated by ParseNewOrder (no control characters); Printable
  // bounds them and keeps that true whatever the database returns.
  const std::string business_id = Printable(order.out_business_id, 64);
  if (!ref.created) {
    std::vector<std::string> conflicts;
    if (p.user_id != order.user_id) {
      conflicts.push_back(fmt::format(
          "userId: an order for outBusinessId {} exists for another user", business_id));
    }
    if (p.total_cents != order.total_cents) {
      conflicts.push_back(fmt::format(
          "totalPrice: an order for outBusinessId {} exists with amount {}, not {}", business_id,
          FormatAmount(p.total_cents), FormatAmount(order.total_cents)));
    }
    if (p.order_status != kOrderUnpaid || p.status != kPayUnpaid) {
      conflicts.push_back(fmt::format(
          "outBusinessId: the order for {} is no longer unpaid (order status {}, pay status {})",
          business_id, Printable(p.order_status, 16), Printable(p.status, 16)));
    }
    if (!conflicts.empty()) return JsonErrors(409, std::move(conflicts));
  } else {
    log::Get("intake")->info("orders: created order_id={} pay_no={} out_business_id={} amount={}",
                             p.order_id, p.pay_no, business_id, FormatAmount(p.total_cents));
  }
  return JsonReply(ref.created ? 201 : 200, nlohmann::json{{"orderId", p.order_id},
                                                          {"payNo", p.pay_no},
                                                          {"status", p.order_status},
                                                          {"totalPrice", FormatAmount(p.total_cents)},
                                                          {"created", ref.created}});
}

Reply OrderIntake::HandlePayResult(std::optional<std::string> pay_no) {
  try {
    return PayResult(pay_no);
  } catch (const std::exception& e) {
    log::Get("intake")->error("payresult: internal error: {}", Printable(e.what(), kMaxStoreErrorBytes));
    return JsonErrors(500, {"internal error"});
  }
}

Reply OrderIntake::PayResult(const std::optional<std::string>& pay_no_text) {
  if (!pay_no_text || pay_no_text->empty()) {
    return JsonErrors(400, {"payNo: missing query parameter"});
  }
  const std::optional<int64_t> pay_no = ParsePayNo(*pay_no_text);
  if (!pay_no) {
    return JsonErrors(400, {fmt::format("payNo: expected decimal digits, got '{}'",
                                        Printable(*pay_no_text, 64))});
  }
  try {
    const std::optional<PaymentRow> row = store_.FindPayment(*pay_no);
    if (!row) return JsonErrors(404, {fmt::format("payNo: unknown payNo {}", *pay_no)});
    return JsonReply(200, PaymentJson(*row));
  } catch (const StoreError& e) {
    return JsonStoreFailure(e, "payresult", fmt::format("reading payment {}", *pay_no));
  }
}

}  // namespace paynotify::order

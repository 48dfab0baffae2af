// Issue 10: the intake against hostile input. Every value here could come from anyone who
// can reach the public listener (the notification) or the order API: none may crash the
// handler, be answered 5xx, leak database text, or reach a log line or a reply unescaped.
#include <gtest/gtest.h>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "common/log/log.hpp"
#include "order-service/intake/form.hpp"
#include "order-service/intake/intake.hpp"
#include "tests/unit/order/fake_order_store.hpp"
#include "tests/unit/order/test_keys.hpp"

namespace paynotify::order {
namespace {

using testing::FakeOrderStore;

constexpr const char* kAppId = "2021000000000001";
constexpr const char* kForm = "application/x-www-form-urlencoded";
constexpr int64_t kPayNo = 1000000000001;

using testing::EncodeForm;

/// Collects the message text of every "intake" log call, exactly as the code formatted it
/// (before the sink's own escaping), so a test sees what the code itself put in a line.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    // Message text and a record separator, no end of line: a raw '\n' inside stays visible.
    sink_->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%v\x1E", spdlog::pattern_time_type::utc, ""));
    log::Get("intake")->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = log::Get("intake")->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  std::vector<std::string> Messages() const {
    std::vector<std::string> messages;
    std::string text = out_.str();
    size_t start = 0;
    for (size_t end; (end = text.find('\x1E', start)) != std::string::npos; start = end + 1) {
      messages.push_back(text.substr(start, end - start));
    }
    return messages;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

/// True when `text` has no control character (C0 or DEL) and is valid UTF-8: it cannot
/// start a new log line or forge a field.
::testing::AssertionResult IsOneSafeLine(const std::string& text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) {
      return ::testing::AssertionFailure() << "control byte " << int(c) << " in: " << text;
    }
  }
  try {
    (void)nlohmann::json(text).dump();  // throws on invalid UTF-8
  } catch (const std::exception&) {
    return ::testing::AssertionFailure() << "invalid UTF-8 in: " << text;
  }
  return ::testing::AssertionSuccess();
}

class HostileIntakeTest : public ::testing::Test {
 protected:
  HostileIntakeTest()
      : intake_(IntakeSettings{kAppId}, store_,
                SignatureVerifier::FromPublicKey(testing::SharedKeyPair().public_pem), registry_) {
    store_.AddUnpaid(kPayNo, 1230);
  }

  FormFields Notification(const std::string& trade_no = "T-1") {
    return FormFields{{"app_id", kAppId},      {"out_trade_no", std::to_string(kPayNo)},
                      {"trade_no", trade_no},  {"trade_status", "TRADE_SUCCESS"},
                      {"total_amount", "12.30"}, {"sign_type", "RSA2"},
                      {"notify_id", "n1"},     {"subject", "Course"}};
  }
  std::string Signed(FormFields fields) {
    fields["sign"] = Rsa2Sign(fields, testing::SharedKeyPair().private_pem);
    return EncodeForm(fields);
  }
  // The reply's reason line (after "failure\n").
  static std::string Reason(const Reply& reply) {
    EXPECT_EQ(reply.body.rfind("failure\n", 0), 0u) << reply.body;
    std::string reason = reply.body.substr(std::min(reply.body.size(), sizeof("failure\n") - 1));
    if (!reason.empty() && reason.back() == '\n') reason.pop_back();
    return reason;
  }
  static std::vector<std::string> Errors(const Reply& reply) {
    const auto body = nlohmann::json::parse(reply.body);  // must be valid JSON (and UTF-8)
    return body.at("errors").get<std::vector<std::string>>();
  }

  metrics::Registry registry_;
  FakeOrderStore store_;
  OrderIntake intake_;
};

// §1 "500 for bad input": GET /orders/payresult?payNo=%FF%FE reached the handler as the bytes
// FF FE and was answered 500 (the error reply could not be serialised as JSON).
TEST_F(HostileIntakeTest, PayResultWithInvalidUtf8Is400NamingTheField) {
  const Reply reply = intake_.HandlePayResult(std::string("\xFF\xFE"));
  EXPECT_EQ(reply.status, 400);
  const auto errors = Errors(reply);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("payNo: ", 0), 0u) << errors[0];
  EXPECT_TRUE(IsOneSafeLine(errors[0]));
}

// §1 "500 for bad input": a Content-Type with a byte 0xFF on POST /orders.
TEST_F(HostileIntakeTest, CreateOrderWithInvalidUtf8ContentTypeIs415) {
  const Reply reply = intake_.HandleCreateOrder("application/\xFFjson\n", "{}");
  EXPECT_EQ(reply.status, 415);
  const auto errors = Errors(reply);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("content type: ", 0), 0u) << errors[0];
  EXPECT_TRUE(IsOneSafeLine(errors[0]));
}

TEST_F(HostileIntakeTest, NotifyWithInvalidUtf8ContentTypeIs415AndEscaped) {
  LogCapture logs;
  const Reply reply = intake_.HandleNotify("text/\xFF\r\nX-Forged: 1", "a=1");
  EXPECT_EQ(reply.status, 415);
  EXPECT_TRUE(IsOneSafeLine(Reason(reply)));
  for (const auto& m : logs.Messages()) EXPECT_TRUE(IsOneSafeLine(m));
}

// §1 "500 for bad input": a correctly signed notification whose trade_no is not UTF-8 could
// never be stored (PostgreSQL refuses the bytes) and was answered 500, which the platform
// retries for 25 hours. It is bad input: 400 naming the field, nothing written.
TEST_F(HostileIntakeTest, SignedNotificationWithNonUtf8TradeNoIs400NamingTheField) {
  const Reply reply = intake_.HandleNotify(kForm, Signed(Notification("T-\xC3\x28")));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(Reason(reply).rfind("trade_no: ", 0), 0u) << reply.body;
  EXPECT_NE(reply.body.find("UTF-8"), std::string::npos) << reply.body;
  EXPECT_EQ(store_.payments.at(kPayNo).status, kPayUnpaid);
  EXPECT_EQ(store_.commits, 0);
  EXPECT_TRUE(store_.outbox.empty());
}

// Every field the handler uses (stores, compares or logs) is checked, not only trade_no.
TEST_F(HostileIntakeTest, EveryFieldWeUseMustBeCleanUtf8) {
  for (const std::string field : {"trade_no", "trade_status", "app_id", "out_trade_no", "total_amount"}) {
    for (const std::string& bad : {std::string("\xFF"), std::string("A\0B", 3), std::string("A\nB")}) {
      FormFields fields = Notification();
      fields[field] = bad;
      const Reply reply = intake_.HandleNotify(kForm, Signed(fields));
      EXPECT_EQ(reply.status, 400) << field << ": " << reply.body;
      EXPECT_EQ(Reason(reply).rfind(field + ": ", 0), 0u) << reply.body;
      EXPECT_TRUE(IsOneSafeLine(Reason(reply))) << field;
    }
  }
  EXPECT_EQ(store_.commits, 0);
}

// §1 "Log injection": the reject reason was logged with raw values before the signature was
// checked; an echoed sign_type with a newline forged a log line.
TEST_F(HostileIntakeTest, RejectReasonsAreEscapedInLogsAndReplies) {
  LogCapture logs;
  FormFields fields = Notification();
  fields["sign_type"] = "RSA2\n2024-01-01T00:00:00.000Z info     intake: paynotify: paid pay_no=1";
  fields["sign"] = "AAAA";
  Reply reply = intake_.HandleNotify(kForm, EncodeForm(fields));
  EXPECT_EQ(reply.status, 400);
  EXPECT_TRUE(IsOneSafeLine(Reason(reply)));

  // An unsigned form problem echoes names and values too.
  reply = intake_.HandleNotify(kForm, "a%0Ab=%ZZ&x=1&x=2&%FF=1&\x01=%0D");
  EXPECT_EQ(reply.status, 400);
  EXPECT_TRUE(IsOneSafeLine(Reason(reply)));

  const auto messages = logs.Messages();
  ASSERT_FALSE(messages.empty());
  for (const auto& m : messages) EXPECT_TRUE(IsOneSafeLine(m));
}

// Anyone can send a bad notification: 1000 of them must not become 1000 log lines, while
// the counter still counts every one.
TEST_F(HostileIntakeTest, AFloodOfRejectsIsSampledInTheLogButFullyCounted) {
  LogCapture logs;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(intake_.HandleNotify(kForm, "garbage=" + std::to_string(i)).status, 400);
  }
  size_t reject_lines = 0;
  for (const auto& m : logs.Messages()) reject_lines += m.find("rejected") != std::string::npos ? 1 : 0;
  EXPECT_GE(reject_lines, 1u);
  EXPECT_LE(reject_lines, 60u);  // the burst, plus what refills while the loop runs
  const std::string page = registry_.Render();
  EXPECT_NE(page.find("paynotify_notifications_rejected_total{reason="), std::string::npos);
  double total = 0;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("paynotify_notifications_rejected_total{", 0) == 0) total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  EXPECT_EQ(total, 1000);
}

TEST_F(HostileIntakeTest, RejectReasonsAreBounded) {
  LogCapture logs;
  // 2000 bad fields and a 40 KB value: the reply and each log line stay small.
  std::string body;
  for (int i = 0; i < 2000; ++i) body += "f" + std::to_string(i) + "=%Z&";
  body += "sign_type=" + std::string(40000, 'x');
  const Reply reply = intake_.HandleNotify(kForm, body);
  EXPECT_EQ(reply.status, 400);
  EXPECT_LT(reply.body.size(), 2048u) << reply.body.size();
  for (const auto& m : logs.Messages()) EXPECT_LT(m.size(), 2048u);

  FormFields fields = Notification();
  fields["sign_type"] = std::string(40000, 'R');
  const Reply signed_reply = intake_.HandleNotify(kForm, Signed(fields));
  EXPECT_EQ(signed_reply.status, 400);
  EXPECT_LT(signed_reply.body.size(), 2048u);
}

// §1 / brief: libpq's error text (host names, user names, DETAIL lines with values) must not
// reach a client; it is logged (escaped) for the operator instead.
TEST_F(HostileIntakeTest, DatabaseErrorTextIsNotSentToClients) {
  store_.fail_text = "could not connect to server: db-7.internal user=paynotify password SECRET";
  const std::string order = R"({"userId":"u","outBusinessId":"b","orderType":"60201",
      "orderName":"n","totalPrice":"1.00","orderDetail":[]})";
  for (auto kind : {StoreError::Kind::kUnavailable, StoreError::Kind::kConflict,
                    StoreError::Kind::kInternal}) {
    store_.fail_with = kind;
    for (const Reply& reply : {intake_.HandleNotify(kForm, Signed(Notification())),
                               intake_.HandleCreateOrder("application/json", order),
                               intake_.HandlePayResult(std::to_string(kPayNo))}) {
      EXPECT_EQ(reply.body.find("SECRET"), std::string::npos) << reply.body;
      EXPECT_EQ(reply.body.find("db-7"), std::string::npos) << reply.body;
      if (kind == StoreError::Kind::kUnavailable) {
        EXPECT_EQ(reply.status, 503) << reply.body;
      }
    }
  }
}

// §1 "Remote crash": the order body is parsed by the handler; 150,000 nested arrays in
// orderDetail killed the process (recursive re-serialisation). Now a 400 naming the limit.
TEST_F(HostileIntakeTest, DeeplyNestedOrderDetailIs400NotACrash) {
  const std::string order = R"({"userId":"u","outBusinessId":"b","orderType":"60201",
      "orderName":"n","totalPrice":"1.00","orderDetail":)" +
                            std::string(150000, '[') + std::string(150000, ']') + "}";
  const Reply reply = intake_.HandleCreateOrder("application/json", order);
  EXPECT_EQ(reply.status, 400);
  const auto errors = Errors(reply);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("deeper than 32"), std::string::npos) << errors[0];
  EXPECT_TRUE(store_.payments.size() == 1u);  // nothing created
}

// §1 "JSON ambiguities": one meaning only.
TEST_F(HostileIntakeTest, DuplicateKeysAndNulCharactersAre400NamingTheField) {
  Reply reply = intake_.HandleCreateOrder("application/json", R"({"userId":"u","outBusinessId":"b",
      "orderType":"60201","orderName":"n","totalPrice":"100.00","totalPrice":"0.01","orderDetail":[]})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(Errors(reply).at(0), "totalPrice: appears more than once");

  reply = intake_.HandleCreateOrder("application/json", R"({"userId":"u","outBusinessId":"b\u0000x",
      "orderType":"60201","orderName":"n","totalPrice":"1.00","orderDetail":[]})");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(Errors(reply).at(0).rfind("outBusinessId: ", 0), 0u) << Errors(reply).at(0);
  EXPECT_NE(Errors(reply).at(0).find("NUL"), std::string::npos);
  EXPECT_EQ(store_.payments.size(), 1u);  // nothing created
}

}  // namespace
}  // namespace paynotify::order

namespace paynotify::order {
namespace {

double Conflicts(metrics::Registry& registry) {
  return registry.GetCounter("paynotify_notifications_pay_conflict_total", "").Value();
}

// §1 "A second payment for a paid order vanishes": answered success with no log, metric or
// record. Now: a record (pay_no, both trade numbers, amount, a summary), a warning with both
// trade numbers, a counter, and still "success" so the platform stops retrying.
TEST_F(HostileIntakeTest, SecondPaymentForAPaidOrderIsRecordedLoggedCountedAndAcknowledged) {
  store_.AddPaid(kPayNo, 1230, "T-FIRST");
  LogCapture logs;
  FormFields second = Notification("T-SECOND");
  second["total_amount"] = "12.30";
  second["buyer_logon_id"] = "a\nb";
  const Reply reply = intake_.HandleNotify(kForm, Signed(second));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "success");

  ASSERT_EQ(store_.conflicts.size(), 1u);
  const auto& [conflict, times] = store_.conflicts.begin()->second;
  EXPECT_EQ(times, 1);
  EXPECT_EQ(conflict.pay_no, kPayNo);
  EXPECT_EQ(conflict.trade_no, "T-SECOND");
  EXPECT_EQ(conflict.recorded_trade_no, "T-FIRST");
  EXPECT_EQ(conflict.pay_status, kPayPaid);
  EXPECT_EQ(conflict.total_amount_cents, 1230);
  EXPECT_EQ(conflict.trade_status, "TRADE_SUCCESS");
  EXPECT_NE(conflict.notification.find("trade_no=T-SECOND"), std::string::npos) << conflict.notification;
  EXPECT_NE(conflict.notification.find("buyer_logon_id=a\\nb"), std::string::npos) << conflict.notification;
  EXPECT_EQ(conflict.notification.find("sign="), std::string::npos) << "the signature is not kept";
  EXPECT_TRUE(IsOneSafeLine(conflict.notification));

  EXPECT_EQ(Conflicts(registry_), 1);
  EXPECT_EQ(store_.payments.at(kPayNo).out_pay_no, "T-FIRST");  // the record is unchanged
  EXPECT_TRUE(store_.outbox.empty());                           // and nothing is published
  bool warned = false;
  for (const auto& m : logs.Messages()) {
    if (m.find("T-FIRST") != std::string::npos && m.find("T-SECOND") != std::string::npos) warned = true;
  }
  EXPECT_TRUE(warned) << "a warning names both trade numbers";
}

TEST_F(HostileIntakeTest, RepeatedSecondPaymentAddsNoRow) {
  store_.AddPaid(kPayNo, 1230, "T-FIRST");
  const std::string body = Signed(Notification("T-SECOND"));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(intake_.HandleNotify(kForm, body).body, "success");
  ASSERT_EQ(store_.conflicts.size(), 1u);
  EXPECT_EQ(store_.conflicts.begin()->second.second, 3);  // counted on the one row
  EXPECT_EQ(Conflicts(registry_), 3);
  // A third trade number is another row.
  EXPECT_EQ(intake_.HandleNotify(kForm, Signed(Notification("T-THIRD"))).body, "success");
  EXPECT_EQ(store_.conflicts.size(), 2u);
}

TEST_F(HostileIntakeTest, TheSamePaymentAgainIsADuplicateNotAConflict) {
  store_.AddPaid(kPayNo, 1230, "T-1");
  EXPECT_EQ(intake_.HandleNotify(kForm, Signed(Notification("T-1"))).body, "success");
  EXPECT_TRUE(store_.conflicts.empty());
  EXPECT_EQ(Conflicts(registry_), 0);
  EXPECT_EQ(registry_.GetCounter("paynotify_notifications_duplicate_total", "").Value(), 1);
}

TEST_F(HostileIntakeTest, ASecondPaymentThatCannotBeRecordedIs503SoThePlatformRetries) {
  store_.AddPaid(kPayNo, 1230, "T-FIRST");
  store_.fail_with = StoreError::Kind::kUnavailable;
  const Reply reply = intake_.HandleNotify(kForm, Signed(Notification("T-SECOND")));
  EXPECT_EQ(reply.status, 503);
  EXPECT_TRUE(store_.conflicts.empty());
}

// §1 finding 6: the summary kept with a conflict is bounded whatever the notification holds.
TEST_F(HostileIntakeTest, ConflictSummaryIsBounded) {
  store_.AddPaid(kPayNo, 1230, "T-FIRST");
  FormFields second = Notification("T-SECOND");
  for (int i = 0; i < 60; ++i) second["extra_" + std::to_string(i)] = std::string(5000, 'x');
  EXPECT_EQ(intake_.HandleNotify(kForm, Signed(second)).body, "success");
  ASSERT_EQ(store_.conflicts.size(), 1u);
  const std::string& summary = store_.conflicts.begin()->second.first.notification;
  EXPECT_LT(summary.size(), 2100u);
  EXPECT_NE(summary.find("more fields)"), std::string::npos) << summary;
}

}  // namespace
}  // namespace paynotify::order

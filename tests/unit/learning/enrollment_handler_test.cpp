#include "learning-service/enrollment/enrollment_handler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <limits>

#include "common/metrics/registry.hpp"

#include "tests/unit/learning/fakes.hpp"

namespace paynotify::learning {
namespace {

using namespace std::chrono_literals;
using testing::FakeEnrollmentRepository;
using testing::MakeDelivery;
using testing::PaymentBody;

class EnrollmentHandlerTest : public ::testing::Test {
 protected:
  RetryPolicy Policy() {
    RetryPolicy p;
    p.backoff = {.initial = 1000ms, .multiplier = 2.0, .max = 5000ms};
    p.max_attempts = 5;
    return p;
  }
  FakeEnrollmentRepository repo_;
  runtime::ManualClock clock_;
  metrics::Registry registry_;
  EnrollmentMetrics metrics_{registry_};
  EnrollmentHandler handler_{repo_, metrics_, Policy(), runtime::BackoffPolicy{500ms, 2.0, 3000ms}, clock_};
};

TEST_F(EnrollmentHandlerTest, CoursePaymentIsAppliedAndAcked) {
  clock_.Advance(3s);  // 3 s after the message's timestamp
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody()));
  EXPECT_EQ(r.disposition.kind, Disposition::Kind::kAck);
  EXPECT_EQ(r.outcome, Outcome::kApplied);
  ASSERT_EQ(repo_.calls.size(), 1u);
  EXPECT_EQ(repo_.calls[0].message_key, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(repo_.calls[0].choose_course_id, 42);
  ASSERT_TRUE(r.since_published.has_value());
  EXPECT_DOUBLE_EQ(r.since_published->count(), 3.0);
  EXPECT_TRUE(r.apply_duration.has_value());
}

TEST_F(EnrollmentHandlerTest, JavaFormWithoutMessageIdUsesTypeAndIdAsKey) {
  // The Java platform omits nulls, may write numbers as keys and sends no message_id.
  amqp::Delivery d = MakeDelivery(R"({"id":77,"messageType":"payresult_notify","businessKey1":42,"businessKey2":"60201"})",
                            std::nullopt);
  d.content_type = "application/octet-stream";
  HandleResult r = handler_.Handle(d);
  EXPECT_EQ(r.outcome, Outcome::kApplied);
  ASSERT_EQ(repo_.calls.size(), 1u);
  EXPECT_EQ(repo_.calls[0].message_key, "payresult_notify:77");
}

TEST_F(EnrollmentHandlerTest, SameMessageTwiceIsADuplicateTheSecondTime) {
  EXPECT_EQ(handler_.Handle(MakeDelivery(PaymentBody())).outcome, Outcome::kApplied);
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody()));
  EXPECT_EQ(r.outcome, Outcome::kDuplicate);
  EXPECT_EQ(r.disposition.kind, Disposition::Kind::kAck);
  EXPECT_EQ(repo_.applied_keys.size(), 1u);
}

TEST_F(EnrollmentHandlerTest, MaterialOrderIsIgnoredAndAcked) {
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody("\"42\"", "\"60202\"")));
  EXPECT_EQ(r.outcome, Outcome::kIgnored);
  EXPECT_EQ(r.disposition.kind, Disposition::Kind::kAck);
  EXPECT_TRUE(repo_.calls.empty());
}

TEST_F(EnrollmentHandlerTest, OtherMessageTypeIsIgnoredAndAcked) {
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody("\"42\"", "\"60201\"", "course_publish")));
  EXPECT_EQ(r.outcome, Outcome::kIgnored);
  EXPECT_EQ(r.disposition.kind, Disposition::Kind::kAck);
  EXPECT_TRUE(repo_.calls.empty());
}

TEST_F(EnrollmentHandlerTest, MissingOrderTypeIsIgnored) {
  HandleResult r = handler_.Handle(MakeDelivery(R"({"id":1,"messageType":"payresult_notify","businessKey1":"42"})"));
  EXPECT_EQ(r.outcome, Outcome::kIgnored);
}

TEST_F(EnrollmentHandlerTest, TransientFailureRetriesWithFirstDelayAndNextAttempt) {
  repo_.ThenThrow(FailureKind::kTransient, "could not serialize access");
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody()));
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kRetry);
  EXPECT_EQ(r.disposition.delay, 1000ms);
  EXPECT_EQ(r.disposition.attempt, 2);
  EXPECT_EQ(r.disposition.text, "could not serialize access");
}

TEST_F(EnrollmentHandlerTest, TransientFailureDelayGrowsAndIsCapped) {
  repo_.ThenThrow(FailureKind::kTransient, "deadlock");
  HandleResult r3 = handler_.Handle(MakeDelivery(PaymentBody(), "m", 3));
  EXPECT_EQ(r3.disposition.delay, 4000ms);  // 1 s * 2^(3-1)
  EXPECT_EQ(r3.disposition.attempt, 4);
  repo_.ThenThrow(FailureKind::kTransient, "deadlock");
  HandleResult r4 = handler_.Handle(MakeDelivery(PaymentBody(), "m", 4));
  EXPECT_EQ(r4.disposition.delay, 5000ms);  // 8 s capped at max-interval
  EXPECT_EQ(r4.disposition.attempt, 5);
}

TEST_F(EnrollmentHandlerTest, AttemptHeaderAsDigitStringIsUnderstood) {
  repo_.ThenThrow(FailureKind::kTransient, "timeout");
  amqp::Delivery d = MakeDelivery(PaymentBody());
  d.headers[consumer::kAttemptHeader] = std::string("2");
  HandleResult r = handler_.Handle(d);
  EXPECT_EQ(r.disposition.attempt, 3);
  EXPECT_EQ(r.disposition.delay, 2000ms);
}

TEST_F(EnrollmentHandlerTest, TransientFailureOnLastAttemptIsDeadLettered) {
  repo_.ThenThrow(FailureKind::kTransient, "deadlock detected");
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody(), "m", 5));
  EXPECT_EQ(r.outcome, Outcome::kDeadLetter);
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(r.disposition.reason, "retries-exhausted");
  EXPECT_EQ(r.disposition.text, "deadlock detected");
  EXPECT_EQ(r.disposition.attempt, 5);
}

TEST_F(EnrollmentHandlerTest, UnclassifiedExceptionIsRetriedLikeTransient) {
  repo_.script.push_back([](const PaymentApplication&) -> ApplyResult { throw std::runtime_error("odd"); });
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody()));
  EXPECT_EQ(r.disposition.kind, Disposition::Kind::kRetry);
}

TEST_F(EnrollmentHandlerTest, PermanentFailureIsDeadLetteredAtOnce) {
  repo_.ThenThrow(FailureKind::kPermanent, "value too long for type character varying(32)");
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody()));
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(r.disposition.reason, "apply-failed");
  EXPECT_EQ(r.disposition.attempt, 1);
}

TEST_F(EnrollmentHandlerTest, NotJsonIsDeadLetteredAsMalformedJson) {
  HandleResult r = handler_.Handle(MakeDelivery("{not json"));
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(r.disposition.reason, "malformed-json");
  EXPECT_FALSE(r.disposition.text.empty());
  EXPECT_TRUE(repo_.calls.empty());
}

TEST_F(EnrollmentHandlerTest, WrongFieldTypesAreDeadLetteredAsInvalidMessage) {
  HandleResult r = handler_.Handle(MakeDelivery(R"({"id":"x","businessKey1":"42"})"));
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(r.disposition.reason, "invalid-message");
  EXPECT_NE(r.disposition.text.find("messageType"), std::string::npos) << r.disposition.text;
}

TEST_F(EnrollmentHandlerTest, MissingBusinessKey1IsDeadLettered) {
  HandleResult r = handler_.Handle(MakeDelivery(R"({"id":3,"messageType":"payresult_notify","businessKey2":"60201"})"));
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(r.disposition.reason, "missing-business-key1");
  EXPECT_TRUE(repo_.calls.empty());
}

TEST_F(EnrollmentHandlerTest, NonNumericBusinessKey1IsDeadLettered) {
  for (const char* key1 : {"\"abc\"", "\"12x\"", "\"-4\"", "\"0\"", "\"99999999999999999999\""}) {
    HandleResult r = handler_.Handle(MakeDelivery(PaymentBody(key1)));
    ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter) << key1;
    EXPECT_EQ(r.disposition.reason, "non-numeric-business-key1") << key1;
  }
  EXPECT_TRUE(repo_.calls.empty());
}

TEST_F(EnrollmentHandlerTest, MissingSelectionIsRetriedThenDeadLettered) {
  repo_.Then(ApplyResult::kSelectionMissing);
  HandleResult first = handler_.Handle(MakeDelivery(PaymentBody()));
  ASSERT_EQ(first.disposition.kind, Disposition::Kind::kRetry);
  EXPECT_EQ(first.disposition.attempt, 2);
  EXPECT_EQ(first.disposition.delay, 1000ms);
  EXPECT_NE(first.disposition.text.find("42"), std::string::npos);

  repo_.Then(ApplyResult::kSelectionMissing);
  HandleResult last = handler_.Handle(MakeDelivery(PaymentBody(), "m", 5));
  ASSERT_EQ(last.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(last.disposition.reason, "selection-missing");
  EXPECT_EQ(last.disposition.attempt, 5);
}

TEST_F(EnrollmentHandlerTest, DatabaseUnavailablePausesWithGrowingDelayWithoutUsingAnAttempt) {
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  const amqp::Delivery d = MakeDelivery(PaymentBody());
  HandleResult a = handler_.Handle(d);
  HandleResult b = handler_.Handle(d);
  HandleResult c = handler_.Handle(d);
  EXPECT_EQ(a.disposition.kind, Disposition::Kind::kPause);
  EXPECT_EQ(a.outcome, Outcome::kPaused);
  EXPECT_EQ(a.disposition.delay, 500ms);
  EXPECT_EQ(b.disposition.delay, 1000ms);
  EXPECT_EQ(c.disposition.delay, 2000ms);
  HandleResult ok = handler_.Handle(d);
  EXPECT_EQ(ok.outcome, Outcome::kApplied);
  // The pause back-off starts over after the database came back.
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  EXPECT_EQ(handler_.Handle(MakeDelivery(PaymentBody(), "other")).disposition.delay, 500ms);
}

TEST_F(EnrollmentHandlerTest, BatchAppliesEveryPaymentInOneTransactionAndAnswersInOrder) {
  std::vector<amqp::Delivery> batch{testing::MakeDeliveryTagged(1, PaymentBody("\"1\"")),
                              testing::MakeDeliveryTagged(2, "{oops"),
                              testing::MakeDeliveryTagged(3, PaymentBody("\"3\"", "\"60202\"")),
                              testing::MakeDeliveryTagged(4, PaymentBody("\"4\"")),
                              testing::MakeDeliveryTagged(5, PaymentBody("\"5\""))};
  repo_.Then(ApplyResult::kApplied);
  repo_.Then(ApplyResult::kDuplicate);
  repo_.Then(ApplyResult::kSelectionMissing);
  const auto results = handler_.HandleBatch(batch);
  ASSERT_TRUE(results.has_value());
  ASSERT_EQ(results->size(), 5u);
  EXPECT_EQ((*results)[0].outcome, Outcome::kApplied);
  EXPECT_EQ((*results)[1].disposition.reason, "malformed-json");
  EXPECT_EQ((*results)[2].outcome, Outcome::kIgnored);
  EXPECT_EQ((*results)[3].outcome, Outcome::kDuplicate);
  EXPECT_EQ((*results)[4].outcome, Outcome::kRetry);
  EXPECT_EQ((*results)[4].disposition.attempt, 2);
  EXPECT_EQ((*results)[4].dedup_key, "message-5");
  ASSERT_EQ(repo_.batches.size(), 1u);
  ASSERT_EQ(repo_.batches[0].size(), 3u);
  EXPECT_EQ(repo_.batches[0][0].choose_course_id, 1);
  EXPECT_EQ(repo_.batches[0][1].choose_course_id, 4);
  EXPECT_EQ(repo_.batches[0][2].choose_course_id, 5);
  EXPECT_TRUE((*results)[0].apply_duration.has_value());
}

TEST_F(EnrollmentHandlerTest, BatchWithNothingToApplyNeverTouchesTheRepository) {
  std::vector<amqp::Delivery> batch{testing::MakeDeliveryTagged(1, "[]"),
                              testing::MakeDeliveryTagged(2, PaymentBody("\"2\"", "\"60202\""))};
  const auto results = handler_.HandleBatch(batch);
  ASSERT_TRUE(results.has_value());
  EXPECT_EQ((*results)[0].outcome, Outcome::kDeadLetter);
  EXPECT_EQ((*results)[1].outcome, Outcome::kIgnored);
  EXPECT_TRUE(repo_.batches.empty());
}

TEST_F(EnrollmentHandlerTest, FailedBatchAnswersNothingAndSaysWhy) {
  repo_.ThenThrow(FailureKind::kTransient, "deadlock detected");
  std::vector<amqp::Delivery> batch{testing::MakeDeliveryTagged(1, PaymentBody("\"1\"")),
                              testing::MakeDeliveryTagged(2, PaymentBody("\"2\""))};
  std::string why;
  EXPECT_FALSE(handler_.HandleBatch(batch, &why).has_value());
  EXPECT_EQ(why, "deadlock detected");
  EXPECT_TRUE(repo_.applied_keys.empty());  // all or nothing
}

// --- hostile messages (issue 10) ------------------------------------------------------------

TEST_F(EnrollmentHandlerTest, BodyOverTheLimitIsDeadLetteredTooLargeWithoutDecoding) {
  // A valid payment padded past 256 KiB: refused for its size alone, nothing applied.
  const std::string body = PaymentBody() + std::string(300 * 1024, ' ');
  HandleResult r = handler_.Handle(MakeDelivery(body));
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(r.disposition.reason, "too-large");
  EXPECT_EQ(r.disposition.text, "body: " + std::to_string(body.size()) +
                                    " bytes, more than the 262144 allowed (rabbitmq.listener.max-body-bytes); "
                                    "not decoded");
  EXPECT_EQ(r.outcome, Outcome::kDeadLetter);
  EXPECT_TRUE(repo_.calls.empty());
  // At the limit is fine.
  EnrollmentHandler small{repo_, metrics_, Policy(), runtime::BackoffPolicy{500ms, 2.0, 3000ms}, clock_, PaymentBody().size()};
  EXPECT_EQ(small.MaxBodyBytes(), PaymentBody().size());
  EXPECT_EQ(small.Handle(MakeDelivery(PaymentBody())).outcome, Outcome::kApplied);
  EXPECT_EQ(small.Handle(MakeDelivery(PaymentBody() + " ")).disposition.reason, "too-large");
}

TEST_F(EnrollmentHandlerTest, InvalidUtf8WithinTheLimitIsDeadLetteredWithABoundedText) {
  std::string body = "{";
  for (int i = 0; body.size() < 200 * 1024; ++i) body += "\"k" + std::to_string(i) + "\":\"\xFF\",";
  body += "\"id\":1,\"messageType\":\"payresult_notify\"}";
  const auto started = std::chrono::steady_clock::now();
  HandleResult r = handler_.Handle(MakeDelivery(body));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(r.disposition.reason, "invalid-message");
  EXPECT_LT(r.disposition.text.size(), 2048u);
  EXPECT_NE(r.disposition.text.find("more problems not listed"), std::string::npos) << r.disposition.text;
}

TEST_F(EnrollmentHandlerTest, MessageIdThatCannotBeAKeyIsDeadLetteredWithoutTouchingTheDatabase) {
  // The message_id is the inbox key (PostgreSQL text): a NUL would cut it, a bad byte would
  // fail the whole batch's transaction.
  for (const std::string& id : {std::string("abc\xFF"), std::string("abc\0def", 7)}) {
    HandleResult r = handler_.Handle(MakeDelivery(PaymentBody(), id));
    ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
    EXPECT_EQ(r.disposition.reason, "invalid-message");
    EXPECT_EQ(r.disposition.text.rfind("message_id property: ", 0), 0u) << r.disposition.text;
    EXPECT_EQ(r.disposition.text.find('\0'), std::string::npos);
  }
  EXPECT_TRUE(repo_.calls.empty());
}

TEST_F(EnrollmentHandlerTest, CompressedBodyIsDeadLetteredAsUnsupportedEncoding) {
  amqp::Delivery gzip = MakeDelivery(std::string("\x1F\x8B\x08\x00garbage", 11));
  gzip.content_encoding = "gzip";
  HandleResult r = handler_.Handle(gzip);
  ASSERT_EQ(r.disposition.kind, Disposition::Kind::kDeadLetter);
  EXPECT_EQ(r.disposition.reason, "unsupported-encoding");
  EXPECT_EQ(r.disposition.text.rfind("content_encoding property: 'gzip' is not supported", 0), 0u)
      << r.disposition.text;
  // Spring writes the charset there; and a body that decodes is never refused for the label.
  for (const char* encoding : {"UTF-8", "utf8", "gzip"}) {
    amqp::Delivery d = MakeDelivery(PaymentBody("\"" + std::to_string(100 + encoding[0]) + "\""),
                              std::string("mid-") + encoding);
    d.content_encoding = encoding;
    EXPECT_EQ(handler_.Handle(d).outcome, Outcome::kApplied) << encoding;
  }
}

TEST_F(EnrollmentHandlerTest, BusinessKey1IsQuotedShortAndEscapedInTheError) {
  HandleResult r = handler_.Handle(MakeDelivery(PaymentBody("\"\\n" + std::string(10000, 'a') + "\"")));
  ASSERT_EQ(r.disposition.reason, "non-numeric-business-key1");
  EXPECT_LT(r.disposition.text.size(), 300u);
  EXPECT_EQ(r.disposition.text.find('\n'), std::string::npos);
  EXPECT_NE(r.disposition.text.find("\\n"), std::string::npos) << r.disposition.text;
}

TEST_F(EnrollmentHandlerTest, TimestampsFarFromNowAreNotSubtracted) {
  // seconds -> system_clock's nanoseconds overflows (undefined) beyond the year 2262.
  for (int64_t timestamp : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(), int64_t{-1}}) {
    amqp::Delivery d = MakeDelivery(PaymentBody(), "mid-" + std::to_string(timestamp));
    d.timestamp_s = timestamp;
    HandleResult r = handler_.Handle(d);
    EXPECT_EQ(r.outcome, Outcome::kApplied);
    EXPECT_FALSE(r.since_published.has_value()) << timestamp;
  }
}

}  // namespace
}  // namespace paynotify::learning

// --- the loop's interface: Decide / DecideBatch count the domain outcome -------------------

namespace paynotify::learning {
namespace {

class EnrollmentDecideTest : public EnrollmentHandlerTest {
 protected:
  double Counter(const std::string& name) { return registry_.GetCounter(name, "").Value(); }
};

TEST_F(EnrollmentDecideTest, DecideCountsTheOutcomeAndGivesTheLoopTheKeyAndAWordForTheLog) {
  const Disposition applied = handler_.Decide(MakeDelivery(PaymentBody()));
  EXPECT_EQ(applied.kind, Disposition::Kind::kAck);
  EXPECT_EQ(applied.key, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(applied.outcome, "applied");
  EXPECT_EQ(handler_.Decide(MakeDelivery(PaymentBody())).outcome, "duplicate");
  EXPECT_EQ(handler_.Decide(MakeDelivery(PaymentBody("\"42\"", "\"60202\""), "m-2")).outcome, "ignored");
  EXPECT_EQ(Counter("paynotify_learning_applied_total"), 1);
  EXPECT_EQ(Counter("paynotify_learning_duplicates_total"), 1);
  EXPECT_EQ(Counter("paynotify_learning_ignored_total"), 1);
  const std::string text = registry_.Render();
  EXPECT_NE(text.find("paynotify_learning_publish_to_apply_seconds_count 1"), std::string::npos) << text;
  EXPECT_NE(text.find("paynotify_learning_apply_seconds_count 2"), std::string::npos) << text;
}

TEST_F(EnrollmentDecideTest, AnUnreachableDatabasePausesAndSaysSo) {
  repo_.ThenThrow(FailureKind::kUnavailable, "connection refused");
  const Disposition d = handler_.Decide(MakeDelivery(PaymentBody()));
  EXPECT_EQ(d.kind, Disposition::Kind::kPause);
  EXPECT_EQ(d.text, "database unavailable: connection refused");
  EXPECT_EQ(Counter("paynotify_learning_applied_total"), 0);
}

TEST_F(EnrollmentDecideTest, DecideBatchCountsNothingUnlessTheBatchCommitted) {
  std::vector<amqp::Delivery> batch{testing::MakeDeliveryTagged(1, PaymentBody("\"1\"")),
                                    testing::MakeDeliveryTagged(2, PaymentBody("\"2\""))};
  repo_.ThenThrow(FailureKind::kTransient, "deadlock detected");
  std::string why;
  EXPECT_FALSE(handler_.DecideBatch(batch, why).has_value());
  EXPECT_EQ(why, "deadlock detected");
  EXPECT_EQ(Counter("paynotify_learning_applied_total"), 0);
  const auto decided = handler_.DecideBatch(batch, why);
  ASSERT_TRUE(decided.has_value());
  ASSERT_EQ(decided->size(), 2u);
  EXPECT_EQ((*decided)[1].key, "message-2");
  EXPECT_EQ(Counter("paynotify_learning_applied_total"), 2);
}

TEST_F(EnrollmentDecideTest, EveryReasonItParksWithIsDeclaredToTheLoop) {
  const auto declared = handler_.DeadLetterReasons();
  auto is_declared = [&](std::string_view r) { return std::find(declared.begin(), declared.end(), r) != declared.end(); };
  for (std::string_view r : {reason::kMalformedJson, reason::kInvalidMessage, reason::kTooLarge,
                             reason::kUnsupportedEncoding, reason::kMissingBusinessKey1,
                             reason::kNonNumericBusinessKey1, reason::kSelectionMissing, reason::kRetriesExhausted,
                             reason::kApplyFailed}) {
    EXPECT_TRUE(is_declared(r)) << r;
  }
  // And what the handler actually produces is among them.
  repo_.ThenThrow(FailureKind::kPermanent, "value too long");
  for (const amqp::Delivery& d : {MakeDelivery("{oops"), MakeDelivery(PaymentBody("null"), "m-3"),
                                  MakeDelivery(PaymentBody("\"x\""), "m-4"), MakeDelivery(PaymentBody(), "m-5")}) {
    const Disposition parked = handler_.Decide(d);
    ASSERT_EQ(parked.kind, Disposition::Kind::kDeadLetter);
    EXPECT_TRUE(is_declared(parked.reason)) << parked.reason;
  }
}

}  // namespace
}  // namespace paynotify::learning

#pragma once
// Test doubles for the learning-service core ports; the consumer loop's own (source,
// publisher, deliveries) are in tests/support/consumer_fakes.hpp.
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/amqp/message.hpp"
#include "learning-service/enrollment/enrollment_repository.hpp"
#include "tests/support/consumer_fakes.hpp"

namespace paynotify::learning::testing {

/// Repository that answers from a script: each application (alone or in a batch) pops the
/// next step (a result or an exception); when the script is empty it answers kApplied, then
/// kDuplicate for a key seen before (also earlier in the same batch). A key in `poison_keys`
/// always fails with kPermanent. A batch is all or nothing, like the real one: when any of its
/// applications throws, the whole batch throws and no key of it counts as applied.
class FakeEnrollmentRepository : public EnrollmentRepository {
 public:
  using Step = std::function<ApplyResult(const PaymentApplication&)>;

  std::vector<ApplyResult> ApplyBatch(std::span<const PaymentApplication> applications) override {
    batches.emplace_back(applications.begin(), applications.end());
    const std::vector<std::string> applied_before = applied_keys;
    std::vector<ApplyResult> results;
    try {
      for (const PaymentApplication& a : applications) results.push_back(ApplyOne(a));
    } catch (...) {
      applied_keys = applied_before;  // rolled back
      throw;
    }
    return results;
  }

  void Then(ApplyResult result) {
    script.push_back([result](const PaymentApplication&) { return result; });
  }
  void ThenThrow(FailureKind kind, std::string text) {
    script.push_back([kind, text](const PaymentApplication&) -> ApplyResult { throw RepositoryError(kind, text); });
  }

  std::deque<Step> script;
  std::vector<std::string> poison_keys;
  std::vector<PaymentApplication> calls;                 ///< every application, batched or not
  std::vector<std::vector<PaymentApplication>> batches;  ///< one entry per ApplyBatch (transaction)
  std::vector<std::string> applied_keys;

 private:
  ApplyResult ApplyOne(const PaymentApplication& application) {
    calls.push_back(application);
    for (const auto& k : poison_keys) {
      if (k == application.message_key) throw RepositoryError(FailureKind::kPermanent, "value too long for type");
    }
    if (!script.empty()) {
      Step step = std::move(script.front());
      script.pop_front();
      ApplyResult r = step(application);
      if (r == ApplyResult::kApplied) applied_keys.push_back(application.message_key);
      return r;
    }
    for (const auto& k : applied_keys) {
      if (k == application.message_key) return ApplyResult::kDuplicate;
    }
    applied_keys.push_back(application.message_key);
    return ApplyResult::kApplied;
  }
};

/// A delivery as order-service publishes it: the generic test delivery
/// (tests/support/consumer_fakes.hpp) from the real producer's exchange, type and app id.
inline amqp::Delivery MakeDelivery(std::string body,
                                   std::optional<std::string> message_id = "11111111-2222-3333-4444-555555555555",
                                   int attempt = 1) {
  amqp::Delivery d = consumer::testing::MakeDelivery(std::move(body), std::move(message_id), attempt);
  d.exchange = "paynotify_exchange_fanout";
  d.type = "payresult_notify";
  d.app_id = "order-service";
  return d;
}

/// A delivery with its own tag and message id (for batches).
inline amqp::Delivery MakeDeliveryTagged(uint64_t tag, std::string body) {
  amqp::Delivery d = MakeDelivery(std::move(body), "message-" + std::to_string(tag));
  d.delivery_tag = tag;
  return d;
}

inline std::string PaymentBody(const std::string& key1 = "\"42\"", const std::string& key2 = "\"60201\"",
                               const std::string& type = "payresult_notify", int64_t id = 9) {
  return "{\"id\":" + std::to_string(id) + ",\"messageType\":\"" + type + "\",\"businessKey1\":" + key1 +
         ",\"businessKey2\":" + key2 + ",\"businessKey3\":null}";
}

}  // namespace paynotify::learning::testing

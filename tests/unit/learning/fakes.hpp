#pragma once
// Test doubles for the learning-service core ports.
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "learning-service/consumer/delivery.hpp"
#include "learning-service/enrollment/enrollment_repository.hpp"

namespace paynotify::learning::testing {

/// Repository that answers from a script: each Apply pops the next step (a result or an
/// exception); when the script is empty it answers kApplied, then kDuplicate for a key seen before.
class FakeEnrollmentRepository : public EnrollmentRepository {
 public:
  using Step = std::function<ApplyResult(const PaymentApplication&)>;

  ApplyResult Apply(const PaymentApplication& application) override {
    calls.push_back(application);
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

  void Then(ApplyResult result) {
    script.push_back([result](const PaymentApplication&) { return result; });
  }
  void ThenThrow(FailureKind kind, std::string text) {
    script.push_back([kind, text](const PaymentApplication&) -> ApplyResult { throw RepositoryError(kind, text); });
  }

  std::deque<Step> script;
  std::vector<PaymentApplication> calls;
  std::vector<std::string> applied_keys;
};

inline Delivery MakeDelivery(std::string body, std::optional<std::string> message_id = "11111111-2222-3333-4444-555555555555",
                             int attempt = 1) {
  Delivery d;
  d.delivery_tag = 7;
  d.exchange = "paynotify_exchange_fanout";
  d.body = std::move(body);
  d.message_id = std::move(message_id);
  d.content_type = "application/json";
  d.type = "payresult_notify";
  d.app_id = "order-service";
  d.timestamp_s = 1704067200;  // 2024-01-01T00:00:00Z, the ManualClock's default wall time
  if (attempt > 1) d.headers[kAttemptHeader] = static_cast<int64_t>(attempt);
  return d;
}

inline std::string PaymentBody(const std::string& key1 = "\"42\"", const std::string& key2 = "\"60201\"",
                               const std::string& type = "payresult_notify", int64_t id = 9) {
  return "{\"id\":" + std::to_string(id) + ",\"messageType\":\"" + type + "\",\"businessKey1\":" + key1 +
         ",\"businessKey2\":" + key2 + ",\"businessKey3\":null}";
}

}  // namespace paynotify::learning::testing

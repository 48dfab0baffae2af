#pragma once
// FakeOrderStore: orders and pay records in memory, with the transaction semantics the intake
// handler relies on (nothing is visible until Commit(); a destroyed transaction changes
// nothing; out_pay_no is unique, as in the schema). Shared by the intake unit tests.
// Thread-safe (the intake groups concurrent notifications); tests set the knobs before
// starting threads, or under `mutex`. Row locks are not modelled: with max_batch > 1 the
// intake applies one group at a time (one group in flight).
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "order-service/intake/order_store.hpp"

namespace paynotify::order::testing {

class FakeOrderStore : public OrderStore {
 public:
  std::map<int64_t, PaymentRow> payments;
  std::vector<OutboxInsert> outbox;
  /// Committed second payments by (pay_no, trade_no), with how often each arrived.
  std::map<std::pair<int64_t, std::string>, std::pair<PayConflict, int>> conflicts;
  int commits = 0;
  std::optional<StoreError::Kind> fail_with;  // every call throws this when set
  std::string fail_text = "connection refused";
  /// The fast path's statement for a group (PayIfPayable of two or more) throws this when
  /// set; a lone notification's statement and the locking path (BeginPayment) do not.
  std::optional<StoreError::Kind> fail_groups_with;
  /// The fast path's statement commits and then throws kUnavailable, as when the connection
  /// is lost before its answer arrives (the outcome is unknown to the caller).
  bool lose_answer_after_commit = false;
  int64_t next_pay_no = 1000000000000;
  /// Calls of BeginPayment (the locking path, including failed calls), and the size of
  /// every PayIfPayable (the fast path, including failed calls).
  int begins = 0;
  std::vector<size_t> pay_statements;
  /// Called (without `mutex` held) at the start of every Commit and every PayIfPayable (a
  /// statement that commits by itself): a test blocks a commit here to let notifications
  /// queue behind it.
  std::function<void()> before_commit;
  mutable std::recursive_mutex mutex;

  class Tx : public PaymentTransaction {
   public:
    explicit Tx(FakeOrderStore& store) : store_(store) {}
    std::optional<PaymentRow> LockPayment(int64_t pay_no) override {
      std::lock_guard lock(store_.mutex);
      auto it = store_.payments.find(pay_no);
      if (it == store_.payments.end()) return std::nullopt;
      return it->second;
    }
    OutboxRowRef MarkPaid(const PaidUpdate& update, const OutboxInsert& message) override {
      std::lock_guard lock(store_.mutex);
      updates_.push_back(PaidItem{update, message});
      return OutboxRowRef{static_cast<int64_t>(store_.outbox.size() + updates_.size()), "uuid"};
    }
    bool RecordConflict(const PayConflict& conflict) override {
      std::lock_guard lock(store_.mutex);
      conflicts_.push_back(conflict);
      return store_.conflicts.count({conflict.pay_no, conflict.trade_no}) == 0;
    }
    void Commit() override {
      if (store_.before_commit) store_.before_commit();
      std::lock_guard lock(store_.mutex);
      if (store_.fail_with) throw StoreError(*store_.fail_with, store_.fail_text);
      for (const PaidItem& u : updates_) {
        if (store_.TradeNoTaken(u.update.trade_no)) {
          throw StoreError(StoreError::Kind::kConflict, "duplicate key value violates unique constraint");
        }
      }
      ++store_.commits;
      for (const PaidItem& u : updates_) store_.Pay(u.update.pay_no, u.update.trade_no, u.message);
      for (const PayConflict& c : conflicts_) {
        auto [it, inserted] = store_.conflicts.try_emplace({c.pay_no, c.trade_no}, c, 0);
        ++it->second.second;
      }
    }

   private:
    FakeOrderStore& store_;
    std::vector<PaidItem> updates_;
    std::vector<PayConflict> conflicts_;
  };

  // What a committed payment leaves: the record and its order paid, the outbox row (the
  // caller holds `mutex`).
  void Pay(int64_t pay_no, const std::string& trade_no, OutboxInsert message) {
    PaymentRow& row = payments.at(pay_no);
    row.status = std::string(kPayPaid);
    row.order_status = std::string(kOrderPaid);
    row.out_pay_no = trade_no;
    outbox.push_back(std::move(message));
  }

  bool TradeNoTaken(const std::string& trade_no) const {
    std::lock_guard lock(mutex);
    for (const auto& [pay_no, row] : payments) {
      if (row.out_pay_no == trade_no) return true;
    }
    return false;
  }

  std::unique_ptr<PaymentTransaction> BeginPayment() override {
    std::lock_guard lock(mutex);
    ++begins;
    if (fail_with) throw StoreError(*fail_with, fail_text);
    return std::make_unique<Tx>(*this);
  }
  // As the statement: all or nothing; pays what is unpaid with the attempt's exact amount;
  // the unique index on out_pay_no fails it as a whole; returns the records as read before.
  std::vector<PayOutcome> PayIfPayable(const std::vector<PayAttempt>& attempts,
                                       std::string_view message_type) override {
    {
      std::lock_guard lock(mutex);
      pay_statements.push_back(attempts.size());  // in the order the statements are sent
    }
    if (before_commit) before_commit();
    std::lock_guard lock(mutex);
    if (fail_with) throw StoreError(*fail_with, fail_text);
    if (fail_groups_with && attempts.size() > 1) throw StoreError(*fail_groups_with, "group failed");
    std::vector<PayOutcome> outcomes(attempts.size());
    std::set<std::string> trade_nos;
    size_t paid_count = 0;
    for (size_t i = 0; i < attempts.size(); ++i) {
      const auto it = payments.find(attempts[i].pay_no);
      if (it == payments.end()) continue;
      if (it->second.status != kPayUnpaid || it->second.total_cents != attempts[i].amount_cents) {
        outcomes[i].record = it->second;
        continue;
      }
      if (!trade_nos.insert(attempts[i].trade_no).second || TradeNoTaken(attempts[i].trade_no)) {
        throw StoreError(StoreError::Kind::kConflict, "duplicate key value violates unique constraint");
      }
      outcomes[i].paid = PaidRef{it->second.order_id,
                                 OutboxRowRef{static_cast<int64_t>(outbox.size() + ++paid_count), "uuid"}};
    }
    for (size_t i = 0; i < attempts.size(); ++i) {
      if (!outcomes[i].paid) continue;
      const PaymentRow& row = payments.at(attempts[i].pay_no);
      Pay(row.pay_no, attempts[i].trade_no,
          OutboxInsert{std::string(message_type), row.out_business_id, row.order_type, std::nullopt});
    }
    if (paid_count > 0) ++commits;
    if (lose_answer_after_commit) throw StoreError(StoreError::Kind::kUnavailable, "connection lost");
    return outcomes;
  }
  OrderRef CreateOrGetOrder(const NewOrder& order) override {
    std::lock_guard lock(mutex);
    if (fail_with) throw StoreError(*fail_with, fail_text);
    for (auto& [pay_no, row] : payments) {
      if (row.out_business_id == order.out_business_id) return OrderRef{false, row};
    }
    PaymentRow row{next_pay_no, static_cast<int64_t>(payments.size() + 1), std::string(kPayUnpaid),
                   std::string(kOrderUnpaid), order.total_cents, order.user_id,
                   order.out_business_id, order.order_type, std::nullopt, std::nullopt};
    payments[next_pay_no++] = row;
    return OrderRef{true, row};
  }
  std::optional<PaymentRow> FindPayment(int64_t pay_no) override {
    std::lock_guard lock(mutex);
    if (fail_with) throw StoreError(*fail_with, fail_text);
    auto it = payments.find(pay_no);
    if (it == payments.end()) return std::nullopt;
    return it->second;
  }

  void AddPaid(int64_t pay_no, int64_t cents, std::string trade_no) {
    AddUnpaid(pay_no, cents);
    payments[pay_no].status = std::string(kPayPaid);
    payments[pay_no].order_status = std::string(kOrderPaid);
    payments[pay_no].out_pay_no = std::move(trade_no);
  }
  void AddUnpaid(int64_t pay_no, int64_t cents) {
    payments[pay_no] = PaymentRow{pay_no, 7, std::string(kPayUnpaid), std::string(kOrderUnpaid),
                                  cents, "user-1", "cs-9", "60201", std::nullopt, std::nullopt};
  }
};

}  // namespace paynotify::order::testing

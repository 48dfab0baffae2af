#pragma once
// FakeOrderStore: orders and pay records in memory, with the transaction semantics the intake
// handler relies on (nothing is visible until Commit(); a destroyed transaction changes
// nothing; out_pay_no is unique, as in the schema). Shared by the intake unit tests.
// Thread-safe (the intake groups concurrent notifications); tests set the knobs before
// starting threads, or under `mutex`. Row locks are not modelled: with max_batch > 1 the
// intake runs one transaction at a time (one group in flight).
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
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
  /// The group statements (LockPayments, MarkPaidMany) throw this when set; the
  /// one-notification statements do not.
  std::optional<StoreError::Kind> fail_groups_with;
  int64_t next_pay_no = 1000000000000;
  /// Calls of BeginPayment (including failed ones), and the size of every LockPayments.
  int begins = 0;
  std::vector<size_t> group_locks;
  /// Called (without `mutex` held) at the start of every Commit: a test blocks a commit here
  /// to let notifications queue behind it.
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
    std::vector<PaymentRow> LockPayments(const std::vector<int64_t>& pay_nos) override {
      std::lock_guard lock(store_.mutex);
      store_.group_locks.push_back(pay_nos.size());
      if (store_.fail_groups_with) throw StoreError(*store_.fail_groups_with, "group failed");
      if (!std::is_sorted(pay_nos.begin(), pay_nos.end())) {
        throw StoreError(StoreError::Kind::kInternal, "LockPayments: pay_nos not in lock order");
      }
      std::vector<PaymentRow> rows;
      for (int64_t pay_no : pay_nos) {
        if (auto it = store_.payments.find(pay_no); it != store_.payments.end()) rows.push_back(it->second);
      }
      return rows;
    }
    OutboxRowRef MarkPaid(const PaidUpdate& update, const OutboxInsert& message) override {
      std::lock_guard lock(store_.mutex);
      updates_.push_back(PaidItem{update, message});
      return OutboxRowRef{static_cast<int64_t>(store_.outbox.size() + updates_.size()), "uuid"};
    }
    std::vector<OutboxRowRef> MarkPaidMany(const std::vector<PaidItem>& items) override {
      std::lock_guard lock(store_.mutex);
      if (store_.fail_groups_with) throw StoreError(*store_.fail_groups_with, "group failed");
      std::vector<OutboxRowRef> refs;
      for (const PaidItem& item : items) {
        updates_.push_back(item);
        refs.push_back(OutboxRowRef{static_cast<int64_t>(store_.outbox.size() + updates_.size()), "uuid"});
      }
      // The unique index on out_pay_no fails the statement, as PostgreSQL does.
      std::set<std::string> trade_nos;
      for (const PaidItem& u : updates_) {
        if (!trade_nos.insert(u.update.trade_no).second || store_.TradeNoTaken(u.update.trade_no)) {
          throw StoreError(StoreError::Kind::kConflict, "duplicate key value violates unique constraint");
        }
      }
      return refs;
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
      for (const PaidItem& u : updates_) {
        PaymentRow& row = store_.payments.at(u.update.pay_no);
        row.status = std::string(kPayPaid);
        row.order_status = std::string(kOrderPaid);
        row.out_pay_no = u.update.trade_no;
        store_.outbox.push_back(u.message);
      }
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

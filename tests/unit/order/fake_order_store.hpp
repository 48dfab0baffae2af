#pragma once
// FakeOrderStore: orders and pay records in memory, with the transaction semantics the intake
// handler relies on (nothing is visible until Commit(); a destroyed transaction changes
// nothing). Shared by the intake unit tests.
#include <map>
#include <memory>
#include <optional>
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
  int64_t next_pay_no = 1000000000000;

  class Tx : public PaymentTransaction {
   public:
    explicit Tx(FakeOrderStore& store) : store_(store) {}
    std::optional<PaymentRow> LockPayment(int64_t pay_no) override {
      auto it = store_.payments.find(pay_no);
      if (it == store_.payments.end()) return std::nullopt;
      return it->second;
    }
    OutboxRowRef MarkPaid(const PaidUpdate& update, const OutboxInsert& message) override {
      update_ = update;
      message_ = message;
      return OutboxRowRef{static_cast<int64_t>(store_.outbox.size() + 1), "uuid"};
    }
    bool RecordConflict(const PayConflict& conflict) override {
      conflict_ = conflict;
      return store_.conflicts.count({conflict.pay_no, conflict.trade_no}) == 0;
    }
    void Commit() override {
      if (store_.fail_with) throw StoreError(*store_.fail_with, store_.fail_text);
      ++store_.commits;
      if (update_) {
        PaymentRow& row = store_.payments.at(update_->pay_no);
        row.status = std::string(kPayPaid);
        row.order_status = std::string(kOrderPaid);
        row.out_pay_no = update_->trade_no;
        store_.outbox.push_back(*message_);
      }
      if (conflict_) {
        auto [it, inserted] = store_.conflicts.try_emplace({conflict_->pay_no, conflict_->trade_no},
                                                           *conflict_, 0);
        ++it->second.second;
      }
    }

   private:
    FakeOrderStore& store_;
    std::optional<PaidUpdate> update_;
    std::optional<OutboxInsert> message_;
    std::optional<PayConflict> conflict_;
  };

  std::unique_ptr<PaymentTransaction> BeginPayment() override {
    if (fail_with) throw StoreError(*fail_with, fail_text);
    return std::make_unique<Tx>(*this);
  }
  OrderRef CreateOrGetOrder(const NewOrder& order) override {
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

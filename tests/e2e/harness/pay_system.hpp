#pragma once
// The whole system for an end-to-end test: real order-service and learning-service binaries
// as child processes, the local PostgreSQL and RabbitMQ from scripts/infra, and a driver that
// plays the payment platform (creates orders over HTTP, sends signed notifications and, like
// Alipay, re-sends a notification until it is answered `success`).
//
// Isolation: each PaySystem uses its own fanout exchange and learning queue (and
// retry/dead-letter queues), so tests do not share broker state; orders and selections are identified by the selection
// ids this instance created. e2e tests are SERIAL (they restart servers), so nothing else
// runs beside them.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/amqp/settings.hpp"
#include "tests/e2e/harness/alipay_signer.hpp"
#include "tests/e2e/harness/process.hpp"

namespace paynotify::e2e {

/// The local test broker ($PAYNOTIFY_AMQP_URL) as connection settings; on a cluster (scripts/infra
/// env sets PAYNOTIFY_AMQP_ADDRESSES) every node in that order, so the harness's own
/// connections (cleanup, dead-letter checks) reach the broker while one node is down.
amqp::BrokerSettings TestBrokerSettings(const std::string& connection_name = "paynotify-e2e-harness",
                                        int heartbeat_s = 10);

/// Value of one sample in a Prometheus text exposition, e.g.
/// MetricValue(text, "paynotify_relay_confirmed_total") or with labels
/// MetricValue(text, "paynotify_dead_lettered_total{reason=\"malformed-json\"}"). Sums every
/// sample of the family when `sample` has no labels and several label sets exist. 0 if absent.
double MetricValue(const std::string& exposition, const std::string& sample);

/// Tallies a run ends with: what the system did, checked against what should have happened.
///
/// Two different failures are told apart:
///  - produced twice: a payment that produced more than one message (a second outbox row,
///    so a second message_id). Measured by a test-only trigger the harness installs into the
///    orders database (never sql/): AFTER INSERT on mq_message, it records each row's
///    business_key1 and message_id in e2e_outbox_audit, so it holds every message produced
///    whatever relay.keep-history says. The inbox rows per payment are counted for those
///    message_ids. Unaudited systems (bench/) fall back to mq_message_history, which holds the
///    messages only while the relay keeps history.
///  - applied twice: a selection the learning side applied more than once. The learning
///    tables' constraints (the status filter, UNIQUE course rows, ON CONFLICT DO NOTHING) would
///    hide a second application, so it is measured below them: test-only triggers the harness
///    installs into the learning database (never sql/) count every UPDATE that writes a
///    selection's status paid (701001) and every INSERT attempt into xc_course_tables, even
///    the ones a conflict then discards. Rolled-back transactions leave no count.
struct Convergence {
  int expected = 0;
  int selections_paid = 0;       // xc_choose_course rows at 701001
  int course_rows = 0;           // xc_course_tables rows for the selections
  int outbox_rows_left = 0;      // mq_message rows for our orders still pending
  int orders_paid = 0;           // xc_orders at 600002
  bool history_kept = true;      // relay.keep-history
  int history_rows = 0;          // mq_message_history rows: one per payment, none without history
  bool audited = true;           // the audit triggers' markers are on (not in bench/)
  int messages_produced = 0;     // outbox rows inserted (audit; unaudited: history rows)
  int produced_twice = 0;        // payments with more than one message
  int inbox_rows = 0;            // processed_message rows for those messages
  int inbox_once = 0;            // payments with exactly one inbox row
  int paid_writes = 0;           // trigger: UPDATEs that wrote status paid
  int course_row_inserts = 0;    // trigger: INSERT attempts into xc_course_tables
  int applied_once = 0;          // selections with exactly one of each
  int applied_twice = 0;         // selections with more than one of either
  bool AllApplied() const { return selections_paid == expected && course_rows == expected; }
  /// Everything applied, every order paid, the outbox drained: nothing more will happen.
  bool Settled() const { return AllApplied() && outbox_rows_left == 0 && orders_paid == expected; }
  /// The messages produced are known: from the outbox audit, or (unaudited) the history.
  bool MessagesKnown() const;
  /// One message per payment, one inbox row per payment, the history as keep-history says,
  /// and (audited) every selection applied exactly once.
  bool NothingDoubled() const {
    return produced_twice == 0 && applied_twice == 0 &&
           (history_kept ? history_rows == expected : history_rows == 0) &&
           (!MessagesKnown() || (messages_produced == expected && inbox_rows == expected && inbox_once == expected)) &&
           (!audited || applied_once == expected);
  }
  bool Done() const { return Settled() && NothingDoubled(); }
  /// "produced_twice=0"; "produced_twice=n/a(unaudited, keep-history=false)" when unknown.
  std::string ProducedTwiceText() const;
  std::string Describe() const;
};

/// Work in flight at one moment (taken just before a fault is injected).
struct InFlight {
  int not_applied = 0;           // selections without their course row yet
  int answered_not_applied = 0;  // notifications answered success whose payment is not applied yet
  int outbox_pending = 0;        // outbox rows of our orders not yet confirmed by the broker
  std::string Describe() const;
};

class PaySystem {
 public:
  /// `name` is used in queue names and log file names. `order_env` / `learning_env` are
  /// applied last, over the harness's own settings (e.g. to run the relay with the production
  /// default keep-history=false, or, in bench/, to keep it from reaching the broker). The
  /// harness itself runs the relay with keep-history=true.
  explicit PaySystem(std::string name, int order_replicas = 1, int learning_replicas = 1,
                     std::map<std::string, std::string> order_env = {},
                     std::map<std::string, std::string> learning_env = {});
  ~PaySystem();

  void StartAll();
  void StartOrder(int replica);
  void StartLearning(int replica);
  void Kill9Order(int replica) { order_[replica]->Kill9(); }
  void Kill9Learning(int replica) { learning_[replica]->Kill9(); }
  int StopOrder(int replica) { return order_[replica]->Terminate(); }
  int StopLearning(int replica) { return learning_[replica]->Terminate(); }
  /// Waits until the replica answers /healthz (deadline); throws with its log tail if not.
  void WaitHealthy(bool order, int replica, std::chrono::seconds deadline = std::chrono::seconds(30));
  std::string Metrics(bool order, int replica);
  /// order-service's public listener (POST /orders/paynotify, /healthz).
  int OrderPort(int replica) const { return order_ports_[replica]; }
  /// order-service's internal listener (order API with ApiToken(), /readyz, /metrics).
  int OrderInternalPort(int replica) const { return order_internal_ports_[replica]; }
  const std::string& ApiToken() const { return api_token_; }
  int LearningPort(int replica) const { return learning_ports_[replica]; }
  /// Process ids (for /proc CPU and memory figures); -1 when not running.
  pid_t OrderPid(int replica) const { return order_[replica]->Pid(); }
  pid_t LearningPid(int replica) const { return learning_[replica]->Pid(); }

  /// Course selections awaiting payment (701002) in the learning database.
  std::vector<int64_t> CreateSelections(int n);
  /// One order per selection over HTTP (POST /orders, retried until answered 201 created or
  /// 200 already existing); returns each selection's payNo.
  std::vector<int64_t> CreateOrders(const std::vector<int64_t>& selections, int concurrency);
  /// Sends each payNo a signed TRADE_SUCCESS notification from `concurrency` connections,
  /// `copies` times each (copies sent concurrently from different connections), re-sending
  /// any that is not answered `success` until `deadline`. Returns the notifications answered
  /// success (counting each copy). = SendNotifications(SignNotifications(...), ...).
  int NotifyAll(const std::vector<int64_t>& pay_nos, int concurrency, int copies,
                std::chrono::seconds deadline = std::chrono::seconds(300));
  /// The form-encoded, RSA2-signed notification bodies, `copies` adjacent copies per payNo.
  /// Signing costs the client ~1 ms of CPU each: the bench signs before it starts its clock,
  /// because that is the payment platform's work, not ours.
  std::vector<std::string> SignNotifications(const std::vector<int64_t>& pay_nos, int copies) const;
  /// Posts each form (see NotifyAll for the re-send rules). `rate` > 0 paces the first
  /// attempts at that many notifications per second (bench/).
  int SendNotifications(const std::vector<std::string>& forms, int concurrency,
                        std::chrono::seconds deadline = std::chrono::seconds(300), double rate = 0);
  /// Publishes raw bodies straight to the exchange (poison messages), confirmed.
  struct RawMessage {
    std::string body;
    std::string message_id;
  };
  void PublishRaw(const std::vector<RawMessage>& messages);

  /// Selections and order-service's outbox rows are marked for the audit triggers (see
  /// Convergence) unless turned off here, before StartAll and CreateSelections: bench/
  /// measures the system without the test triggers' cost.
  void SetApplyAudit(bool on) { audit_ = on; }

  Convergence Check(const std::vector<int64_t>& selections);
  /// Polls Check() until Settled() or deadline; returns the last tally (then judge Done()).
  Convergence WaitConverged(const std::vector<int64_t>& selections, std::chrono::seconds deadline);
  /// What is in flight now for these selections (two short queries).
  InFlight InFlightNow(const std::vector<int64_t>& selections);
  /// The longest time one of these payments waited from its notification's answer to its
  /// application, in seconds: per selection, the audit time of its outbox row (written by the
  /// transaction whose commit answered the notification `success`) to that of its course-row
  /// insert (the apply transaction). Both are clock_timestamp() of the one PostgreSQL server.
  /// Needs the audit triggers (SetApplyAudit); -1 when no selection was applied yet.
  double LongestWaitSeconds(const std::vector<int64_t>& selections);
  uint32_t DeadLetterCount();
  /// Bodies and x-paynotify-reason headers of the dead-lettered messages (consumed + acked).
  std::vector<std::pair<std::string, std::string>> DrainDeadLetters();

  std::string LogTails();
  /// The whole log of one daemon so far (stdout + stderr).
  std::string Log(bool order, int replica) const;
  /// A notification form signed with this system's platform key: the TRADE_SUCCESS fields
  /// NotifyAll sends for `pay_no`, with `overrides` applied (an empty value removes a field).
  std::string SignedNotification(int64_t pay_no, const std::map<std::string, std::string>& overrides = {}) const;
  const std::string& Queue() const { return queue_; }
  /// This system's own fanout exchange (the relay publishes to it, the learning queue is bound to it).
  const std::string& Exchange() const { return exchange_; }
  int retransmissions() const { return retransmissions_.load(); }
  /// Notifications answered success so far (NotifyAll may be running on another thread).
  int notified() const { return notified_.load(); }

 private:
  std::map<std::string, std::string> CommonEnv() const;
  void InstallApplyAudit();

  std::string name_;
  std::string queue_;
  std::string exchange_;
  std::string dir_;
  AlipaySigner signer_;
  std::string api_token_ = "e2e-order-api-token";
  std::vector<int> order_ports_;
  std::vector<int> order_internal_ports_;
  std::vector<int> learning_ports_;
  std::vector<std::unique_ptr<ChildProcess>> order_;
  std::vector<std::unique_ptr<ChildProcess>> learning_;
  std::atomic<int> retransmissions_{0};
  std::atomic<int> notified_{0};
  bool audit_ = true;
  bool audit_installed_ = false;
  bool history_kept_ = true;
};

/// One line for the test log: "e2e <name>: payments=2000 applied=2000 lost=0 produced_twice=0
/// applied_twice=0 faults=[...] in_flight_at_fault=[...] converged_in=...s extra".
/// `in_flight` describes the work in flight at each injection ("" when there was no fault).
void PrintSummary(const std::string& scenario, const Convergence& c, const std::string& faults,
                  double converge_seconds, const std::string& extra = "", const std::string& in_flight = "");

}  // namespace paynotify::e2e

#pragma once
// The raw limits of the same servers, measured in the same run as the daemons: the order
// transaction and the consumer transaction run straight over libpqxx from N connections, and
// a bare confirmed publisher. A daemon's figure is read against these (issue 6).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "bench/bench_common.hpp"
#include "common/amqp/message.hpp"
#include "tests/e2e/harness/pay_system.hpp"

namespace paynotify::bench {

/// Runs work(conn, i) for i in [0, n) on `threads` threads, each with its own connection
/// to `db` prepared by `prepare`. Returns the wall time.
double ParallelPg(const std::string& db, int n, int threads,
                  const std::function<void(pqxx::connection&)>& prepare,
                  const std::function<void(pqxx::connection&, int)>& work);

/// Prepares the order transaction's statements (lock_payment, mark_paid, delete_outbox).
void PrepareOrder(pqxx::connection& c);
/// Prepares the consumer transaction's statements.
void PrepareConsumer(pqxx::connection& c);

/// Orders + unpaid pay records made directly in SQL for the raw order transaction; returns pay_nos.
std::vector<int64_t> CreateRawOrders(const std::string& tag, int n);

/// One order transaction (as order-service's), optionally followed by the relay's delete of
/// the outbox row in its own transaction. Returns the outbox id.
int64_t RawOrderTransaction(pqxx::connection& c, int64_t pay_no, const std::string& tag, bool delete_outbox);
/// One consumer transaction for one message (key) and its selection.
void RawConsumerTransaction(pqxx::connection& c, const std::string& key, int64_t selection);

/// Checks the raw order transactions: every pay record paid, exactly one outbox row each
/// (deleted ones excepted); then removes the bench's outbox rows.
void CheckRawOrders(const std::string& tag, int n, bool deleted);
void CheckRawConsumer(const std::vector<int64_t>& selections, const std::string& tag);

/// The raw rates, each also recorded in `f` as <prefix>raw_..._per_s.
double RawOrderRate(int n, int connections, Figures& f, const std::string& prefix);
double RawConsumerRate(e2e::PaySystem& sys, int k, int connections, Figures& f, const std::string& prefix);
/// The bench's own publisher: K persistent messages with confirms, 1,000 outstanding, into a
/// fresh queue of its own (default exchange). Returns messages/s.
double RawPublishRate(int k, Figures& f, const std::string& prefix, const std::string& queue_type = "classic");

/// A payment-result message as the relay publishes it, for selection `selection`.
amqp::OutgoingMessage BenchMessage(const std::string& exchange, const std::string& routing_key, int64_t id,
                                   int64_t selection, const std::string& message_id);

}  // namespace paynotify::bench

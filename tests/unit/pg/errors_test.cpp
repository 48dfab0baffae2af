#include "common/pg/errors.hpp"

#include <gtest/gtest.h>

#include <pqxx/except>
#include <stdexcept>

namespace paynotify::pg {
namespace {

pqxx::sql_error Sql(const char* state) { return pqxx::sql_error("ERROR: x\n", "SELECT 1", state); }

TEST(Classify, ConnectionLossAndRollbacksAreTransient) {
  EXPECT_EQ(Classify(pqxx::broken_connection("server closed the connection unexpectedly")),
            ErrorKind::kTransient);
  EXPECT_EQ(Classify(pqxx::too_many_connections("too many")), ErrorKind::kTransient);
  EXPECT_EQ(Classify(pqxx::serialization_failure("could not serialize")), ErrorKind::kTransient);
  EXPECT_EQ(Classify(pqxx::deadlock_detected("deadlock")), ErrorKind::kTransient);
  EXPECT_EQ(Classify(pqxx::transaction_rollback("rolled back")), ErrorKind::kTransient);
}

TEST(Classify, TransientSqlStatesArrivingAsPlainSqlError) {
  for (const char* state : {"57P01", "57P02", "57P03", "08006", "08003", "08P01", "40001", "40P01", "53300"}) {
    EXPECT_EQ(Classify(Sql(state)), ErrorKind::kTransient) << state;
  }
}

TEST(Classify, UniqueViolationIsADuplicate) {
  EXPECT_EQ(Classify(pqxx::unique_violation("duplicate key", "INSERT", "23505")), ErrorKind::kDuplicate);
  EXPECT_EQ(Classify(Sql("23505")), ErrorKind::kDuplicate);
}

TEST(Classify, UnknownOutcomeIsInDoubt) {
  EXPECT_EQ(Classify(pqxx::in_doubt_error("lost connection during commit")), ErrorKind::kInDoubt);
  EXPECT_EQ(Classify(pqxx::statement_completion_unknown("unknown")), ErrorKind::kInDoubt);
  EXPECT_EQ(Classify(Sql("40003")), ErrorKind::kInDoubt);
}

TEST(Classify, EverythingElseIsPermanent) {
  EXPECT_EQ(Classify(pqxx::foreign_key_violation("fk", "INSERT", "23503")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(pqxx::not_null_violation("nn", "INSERT", "23502")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(pqxx::syntax_error("syntax", "SELEC", "42601")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(pqxx::undefined_table("no table", "SELECT", "42P01")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(pqxx::data_exception("bad", "SELECT", "22P02")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(Sql("XX000")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(Sql(nullptr)), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(pqxx::usage_error("misuse")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(pqxx::conversion_error("not a number")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(std::runtime_error("not from pqxx")), ErrorKind::kPermanent);
  EXPECT_EQ(Classify(std::logic_error("not from pqxx")), ErrorKind::kPermanent);
}

TEST(IsConnectionLoss, RecognisesBrokenConnectionsOnly) {
  EXPECT_TRUE(IsConnectionLoss(pqxx::broken_connection("gone")));
  EXPECT_TRUE(IsConnectionLoss(pqxx::in_doubt_error("commit lost")));
  EXPECT_TRUE(IsConnectionLoss(Sql("57P01")));
  EXPECT_TRUE(IsConnectionLoss(Sql("08006")));
  EXPECT_FALSE(IsConnectionLoss(pqxx::serialization_failure("retry")));
  EXPECT_FALSE(IsConnectionLoss(pqxx::unique_violation("dup", "INSERT", "23505")));
  EXPECT_FALSE(IsConnectionLoss(std::runtime_error("x")));
}

TEST(ErrorKind, HasStableNames) {
  EXPECT_EQ(ToString(ErrorKind::kTransient), "transient");
  EXPECT_EQ(ToString(ErrorKind::kDuplicate), "duplicate");
  EXPECT_EQ(ToString(ErrorKind::kInDoubt), "in-doubt");
  EXPECT_EQ(ToString(ErrorKind::kPermanent), "permanent");
}

TEST(Describe, PutsTheMessageOnOneLineWithItsSqlState) {
  pqxx::unique_violation dup(
      "ERROR:  duplicate key value violates unique constraint \"t_pkey\"\nDETAIL:  Key (id)=(1) already exists.\n",
      "INSERT", "23505");
  EXPECT_EQ(Describe(dup),
            "ERROR: duplicate key value violates unique constraint \"t_pkey\" DETAIL: Key (id)=(1) "
            "already exists. sqlstate=23505");
  EXPECT_EQ(Describe(std::runtime_error("plain")), "plain");
  EXPECT_EQ(SqlState(dup), "23505");
  EXPECT_EQ(SqlState(std::runtime_error("plain")), "");
}

}  // namespace
}  // namespace paynotify::pg

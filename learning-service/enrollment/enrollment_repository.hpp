#pragma once
/// Port: applies payment results to the learning database, exactly once per dedup key, several
/// in one transaction when the consumer has several at hand.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace paynotify::learning {

/// One payment result to apply: the inbox key and the course selection it pays for.
struct PaymentApplication {
  std::string message_key;     ///< dedup key (AMQP message_id, or messageType:id)
  int64_t choose_course_id = 0;  ///< xc_choose_course.id (businessKey1)
};

enum class ApplyResult {
  kApplied,           ///< committed: selection 701001, course-table row present, key recorded
  kDuplicate,         ///< the key was recorded before: nothing changed
  kSelectionMissing,  ///< no such selection: nothing changed (rolled back), key NOT recorded
};

/// How a failure of the repository should be treated. Adapters translate their technology's
/// errors (e.g. pg::Classify) into these.
enum class FailureKind {
  kUnavailable,  ///< the database cannot be reached (or the commit outcome is unknown): retry later, same message
  kTransient,    ///< this attempt failed (deadlock, serialization failure, timeout): retry the message
  kPermanent,    ///< retrying will not help (constraint or data error): dead-letter
};

class RepositoryError : public std::runtime_error {
 public:
  RepositoryError(FailureKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  FailureKind kind() const noexcept { return kind_; }

 private:
  FailureKind kind_;
};

/// Contract of ApplyBatch: ONE transaction for all `applications`, with each item's result
/// (in order) exactly as if the items had been applied one after another on their own:
///  - record the item's `message_key` in the inbox; if it was already there (or is repeated
///    earlier in the same batch), change nothing for it: kDuplicate;
///  - otherwise lock its selection, move it from 701002 to 701001 (701001 stays) and add the
///    learner's course-table row unless the learner has the course already: kApplied;
///  - a missing selection changes nothing and leaves the key unrecorded: kSelectionMissing.
/// All or nothing: if the transaction fails, nothing of the batch is committed and
/// RepositoryError is thrown (the caller learns which item failed by applying one by one).
/// Idempotent per key: safe under at-least-once delivery, including a retry after an unknown
/// commit outcome. Not thread-safe: one instance per consumer thread.
class EnrollmentRepository {
 public:
  virtual ~EnrollmentRepository() = default;
  virtual std::vector<ApplyResult> ApplyBatch(std::span<const PaymentApplication> applications) = 0;

  /// A batch of one.
  ApplyResult Apply(const PaymentApplication& application) {
    return ApplyBatch(std::span<const PaymentApplication>(&application, 1)).at(0);
  }
};

}  // namespace paynotify::learning

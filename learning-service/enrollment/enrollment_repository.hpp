#pragma once
/// Port: applies one payment result to the learning database, exactly once per dedup key.
#include <cstdint>
#include <stdexcept>
#include <string>

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

/// Contract of Apply: in ONE transaction, record `message_key` in the inbox; if it was
/// already there, change nothing (kDuplicate); otherwise lock the selection, move it from
/// 701002 to 701001 (701001 stays), add the learner's course-table row unless the learner
/// has the course already, commit (kApplied). A missing selection rolls everything back
/// (kSelectionMissing). Idempotent per key: safe under at-least-once delivery, including
/// a retry after an unknown commit outcome. Throws RepositoryError only. Not thread-safe:
/// one instance per consumer thread.
class EnrollmentRepository {
 public:
  virtual ~EnrollmentRepository() = default;
  virtual ApplyResult Apply(const PaymentApplication& application) = 0;
};

}  // namespace paynotify::learning

#include "common/pg/failure.hpp"

namespace paynotify::pg {

namespace {

Failure Make(const std::exception& error, bool connection_open) noexcept {
  Failure failure;
  try {
    failure.detail = Describe(error);
  } catch (...) {
    // out of memory while describing: the classification still stands
  }
  failure.kind = Classify(error);
  failure.connection_lost =
      !connection_open || IsConnectionLoss(error) || failure.kind == ErrorKind::kInDoubt;
  // An SQL error is the server's answer (e.g. a statement prepared on connect refers to a
  // missing table): the connection being gone does not make it transient.
  if (failure.connection_lost && failure.kind == ErrorKind::kPermanent && SqlState(error).empty()) {
    failure.kind = ErrorKind::kTransient;
  }
  return failure;
}

}  // namespace

Failure Translate(const std::exception& error, ConnectionHolder& holder) noexcept {
  Failure failure = Make(error, holder.HasOpenConnection());
  if (failure.connection_lost) holder.Invalidate();
  return failure;
}

Failure Translate(const std::exception& error) noexcept { return Make(error, true); }

}  // namespace paynotify::pg

#pragma once
/// WakeSource over LISTEN/NOTIFY (pg::NotifyListener on its own connection): the intake's
/// transaction runs pg_notify(channel) and the relay wakes as soon as it commits.
#include <string>

#include "common/pg/notify_listener.hpp"
#include "order-service/relay/relay.hpp"

namespace paynotify::order {

/// One thread (the relay's).
class PgWakeSource final : public WakeSource {
 public:
  PgWakeSource(pg::PgSettings settings, std::string channel) : listener_(std::move(settings), std::move(channel)) {}
  bool Wait(std::chrono::milliseconds timeout) override { return listener_.Wait(timeout); }
  bool Pending(std::chrono::milliseconds within) override { return listener_.Pending(within); }

 private:
  pg::NotifyListener listener_;
};

}  // namespace paynotify::order

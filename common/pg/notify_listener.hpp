#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <pqxx/connection>

#include "common/pg/settings.hpp"
#include "common/runtime/backoff.hpp"

namespace paynotify::pg {

/// LISTENs on one channel over its own connection, so a worker can sleep until something is
/// NOTIFYed (e.g. a new outbox row) instead of polling on a tight interval.
///
/// NOTIFY is a hint, not a queue: notifications sent while the connection is down are lost.
/// Wait() therefore returns true once after every reconnect, telling the caller to re-poll
/// its table; callers should also poll on their own interval as a safety net.
///
/// Never throws for a lost or unreachable server: it logs (once per outage, on the "pg"
/// logger), reconnects with back-off (settings.reconnect) inside Wait(), and re-issues LISTEN.
/// One thread only (the connection is not shared).
class NotifyListener {
 public:
  /// Tries to connect and LISTEN at once; if the server is unreachable it logs and retries
  /// from Wait(). The channel name is quoted as an identifier, so any text is allowed
  /// (PostgreSQL truncates it to 63 bytes, the sender must use the same name).
  NotifyListener(PgSettings settings, std::string channel);
  ~NotifyListener();
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  /// Blocks until a notification arrives on the channel (true), the connection was
  /// re-established after a break or a failed start (true, once: notifications may have
  /// been missed), or `timeout` passes (false). Several queued notifications are consumed by
  /// one call. The time is bounded by `timeout`, except that one reconnect attempt already
  /// begun may take up to settings.connect_timeout_s. Never throws for connection problems.
  bool Wait(std::chrono::milliseconds timeout);

  /// Whether a notification arrives within `within` (zero: has already arrived): reads what
  /// the server sent, waiting at most `within` for it, and consumes the notifications as
  /// Wait() does. Never connects (false at once while the connection is down: Wait()
  /// reconnects) and never throws.
  bool Pending(std::chrono::milliseconds within = std::chrono::milliseconds(0));

  /// True while the LISTEN connection is up (as of the last Wait()). Owner thread.
  bool IsConnected() const noexcept;

  const std::string& Channel() const noexcept { return channel_; }

 private:
  class Receiver;
  bool TryConnect();
  void Drop(const std::exception* cause) noexcept;

  PgSettings settings_;
  std::string channel_;
  runtime::Backoff backoff_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Receiver> receiver_;  // destroyed before conn_ (declared after it)
  int backend_pid_ = 0;
  bool outage_logged_ = false;
  std::chrono::steady_clock::time_point next_attempt_{};
};

}  // namespace paynotify::pg

#include "common/pg/notify_listener.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include <pqxx/notification>

#include "common/log/log.hpp"
#include "common/pg/connection.hpp"
#include "common/pg/errors.hpp"

namespace paynotify::pg {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {
// Waits on `conn` for notifications until `deadline` (at once if it has passed). libpqxx
// waits in poll() with whole milliseconds, truncated: less than 1 ms left would poll with 0
// and return at once, a spin until the deadline. Rounded up, it waits at most 1 ms beyond it.
void AwaitUntil(pqxx::connection& conn, Clock::time_point deadline) {
  const long long ms = std::max<long long>(0, std::chrono::ceil<milliseconds>(deadline - Clock::now()).count());
  conn.await_notification(static_cast<long>(ms / 1000), static_cast<long>(ms % 1000) * 1000);
}
}  // namespace

/// Counts notifications; libpqxx calls it from inside await_notification().
class NotifyListener::Receiver final : public pqxx::notification_receiver {
 public:
  // notification_receiver's constructor issues LISTEN with the channel quoted by
  // PQescapeIdentifier (connection_base::add_receiver -> quote_name).
  Receiver(pqxx::connection& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string& /*payload*/, int /*backend_pid*/) override { ++received; }
  long received = 0;
};

NotifyListener::NotifyListener(PgSettings settings, std::string channel)
    : settings_(std::move(settings)), channel_(std::move(channel)), backoff_(settings_.reconnect) {
  TryConnect();
}

NotifyListener::~NotifyListener() {
  // Order matters: the receiver UNLISTENs through the connection it was registered with.
  receiver_.reset();
  conn_.reset();
}

bool NotifyListener::IsConnected() const noexcept { return conn_ != nullptr; }

bool NotifyListener::TryConnect() {
  try {
    auto conn = Connect(settings_);
    auto receiver = std::make_unique<Receiver>(*conn, channel_);
    // add_receiver swallows a broken connection during LISTEN; make sure it really listens.
    if (!conn->is_open()) throw pqxx::broken_connection("connection closed while issuing LISTEN");
    conn_ = std::move(conn);
    receiver_ = std::move(receiver);
    backend_pid_ = conn_->backendpid();
    backoff_.Reset();
    if (outage_logged_) {
      log::Get("pg")->info("listener reconnected channel={} backend_pid={}", channel_, backend_pid_);
    }
    outage_logged_ = false;
    return true;
  } catch (const std::exception& error) {
    const milliseconds delay = backoff_.Next();
    next_attempt_ = Clock::now() + delay;
    if (!outage_logged_) {
      log::Get("pg")->warn("listener cannot connect channel={} {}: {}; will retry every {}ms or less",
                           channel_, settings_.Redacted(), Describe(error),
                           settings_.reconnect.max.count());
      outage_logged_ = true;
    }
    return false;
  }
}

void NotifyListener::Drop(const std::exception* cause) noexcept {
  try {
    if (!outage_logged_) {
      log::Get("pg")->warn("listener connection lost channel={} backend_pid={}: {}; reconnecting",
                           channel_, backend_pid_,
                           cause != nullptr ? Describe(*cause) : std::string("connection closed"));
      outage_logged_ = true;
    }
  } catch (...) {
    // Logging must not turn a lost connection into an exception.
  }
  receiver_.reset();
  conn_.reset();
  backend_pid_ = 0;
  next_attempt_ = Clock::now();  // first reconnect attempt at once, then back-off
}

bool NotifyListener::Wait(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (conn_ == nullptr) {
      const auto now = Clock::now();
      if (now < next_attempt_) {
        if (next_attempt_ >= deadline) {
          std::this_thread::sleep_until(deadline);
          return false;
        }
        std::this_thread::sleep_until(next_attempt_);
      }
      if (TryConnect()) return true;  // LISTENing again: tell the caller to re-poll
      if (Clock::now() >= deadline) return false;
      continue;
    }

    const long before = receiver_->received;
    try {
      AwaitUntil(*conn_, deadline);
      // A server-side close can surface as a closed connection rather than an exception.
      if (!conn_->is_open() || conn_->backendpid() != backend_pid_) {
        Drop(nullptr);
        continue;
      }
    } catch (const std::exception& error) {
      Drop(&error);
      continue;
    }
    if (receiver_->received != before) return true;
    if (Clock::now() >= deadline) return false;
    // Woken by other traffic (e.g. a notice): wait out the rest of the timeout.
  }
}

bool NotifyListener::Pending(milliseconds within) {
  if (conn_ == nullptr) return false;
  const long before = receiver_->received;
  const auto deadline = Clock::now() + within;
  try {
    while (true) {
      const bool waited = Clock::now() < deadline;
      if (waited) {
        AwaitUntil(*conn_, deadline);
      } else {
        conn_->get_notifs();  // what has arrived, without waiting
      }
      if (!conn_->is_open() || conn_->backendpid() != backend_pid_) {
        Drop(nullptr);
        return false;
      }
      // Woken by other traffic (a notice) before the deadline: wait out the rest.
      if (receiver_->received != before || !waited || Clock::now() >= deadline) break;
    }
  } catch (const std::exception& error) {
    Drop(&error);
    return false;
  }
  return receiver_->received != before;
}

}  // namespace paynotify::pg

#pragma once
/// `paynotifyctl outbox status | list | requeue`: the orders database's outbox (mq_message),
/// as the relay (order-service/outbox/pg_outbox_store.cpp) reads and writes it. Needs only
/// order-service's config: database.* and relay.* (max-attempts, notify-channel).
#include <vector>

#include "paynotifyctl/cli/command.hpp"

namespace paynotify::ctl {

/// Appends the outbox commands to `commands`.
void RegisterOutboxCommands(std::vector<Command>& commands);

}  // namespace paynotify::ctl

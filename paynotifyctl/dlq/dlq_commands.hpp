#pragma once
/// `paynotifyctl dlq list | stats | show | replay | discard`: learning-service's parking queue
/// (consumer.dead-letter-queue, default <consumer.queue>.dlq), read without losing or
/// reordering anything (amqp::QueueBrowser), replayed into consumer.queue with publisher
/// confirms. Needs only learning-service's config: rabbitmq.* and consumer.*.
#include <vector>

#include "paynotifyctl/cli/command.hpp"

namespace paynotify::ctl {

/// Appends the dlq commands to `commands`.
void RegisterDlqCommands(std::vector<Command>& commands);

}  // namespace paynotify::ctl

#pragma once
/// `paynotifyctl dlq list | stats | show | replay | discard`: learning-service's parking queue
/// (consumer.dead-letter-queue, default <consumer.queue>.dlq), read without losing or
/// reordering anything (amqp::QueueBrowser), replayed into consumer.queue with publisher
/// confirms. Needs only learning-service's config: rabbitmq.* and consumer.*.
#include <vector>

#include "learning-service/app/settings.hpp"
#include "paynotifyctl/cli/command.hpp"
#include "paynotifyctl/dlq/dlq_operations.hpp"

namespace paynotify::ctl {

/// The parking queue and main queue of learning-service's config, as the dlq commands use
/// them (browse timeout `timeout`). For other commands that look into the parking queue, e.g.
/// trace: `dlq::Show(DlqTargetFrom(settings), message_id)` (or amqp::FindByMessageId) answers
/// "is message X parked?" without taking anything out of the queue.
dlq::DlqTarget DlqTargetFrom(const learning::LearningSettings& settings,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// Appends the dlq commands to `commands`.
void RegisterDlqCommands(std::vector<Command>& commands);

}  // namespace paynotify::ctl

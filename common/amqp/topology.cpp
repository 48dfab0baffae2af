#include "common/amqp/topology.hpp"

#include <amqp_framing.h>

#include <fmt/format.h>

#include "common/amqp/errors.hpp"
#include "common/amqp/table.hpp"

namespace paynotify::amqp {
namespace {

Headers QueueArguments(const QueueSpec& spec) {
  Headers arguments;
  if (!spec.queue_type.empty()) arguments["x-queue-type"] = spec.queue_type;
  if (spec.dead_letter_exchange) arguments["x-dead-letter-exchange"] = *spec.dead_letter_exchange;
  if (spec.dead_letter_routing_key) {
    arguments["x-dead-letter-routing-key"] = *spec.dead_letter_routing_key;
  }
  if (spec.message_ttl_ms) arguments["x-message-ttl"] = *spec.message_ttl_ms;
  if (spec.max_length) arguments["x-max-length"] = *spec.max_length;
  if (spec.overflow) arguments["x-overflow"] = *spec.overflow;
  if (spec.delivery_limit) arguments["x-delivery-limit"] = *spec.delivery_limit;
  if (spec.dead_letter_strategy) arguments["x-dead-letter-strategy"] = *spec.dead_letter_strategy;
  return arguments;
}

amqp_queue_declare_ok_t* PassiveDeclare(Connection& connection, const std::string& queue) {
  const amqp_channel_t channel = connection.Channel();
  amqp_queue_declare_ok_t* ok = amqp_queue_declare(connection.State(), channel, Bytes(queue),
                                                   1, 0, 0, 0, amqp_empty_table);
  connection.CheckLastRpc(fmt::format("queue.declare passive '{}'", queue));
  return ok;
}

// Replies live in rabbitmq-c's per-channel pool until released.
void Release(Connection& connection) {
  if (connection.State() != nullptr) amqp_maybe_release_buffers(connection.State());
}

}  // namespace

void DeclareExchange(Connection& connection, const ExchangeSpec& spec) {
  const amqp_channel_t channel = connection.Channel();
  amqp_exchange_declare(connection.State(), channel, Bytes(spec.name), Bytes(spec.type), 0,
                        spec.durable ? 1 : 0, spec.auto_delete ? 1 : 0, 0, amqp_empty_table);
  connection.CheckLastRpc(fmt::format("exchange.declare '{}' type {}", spec.name, spec.type));
  Release(connection);
}

void DeclareQueue(Connection& connection, const QueueSpec& spec) {
  const Headers arguments = QueueArguments(spec);
  const FieldTable table(arguments);
  const amqp_channel_t channel = connection.Channel();
  amqp_queue_declare(connection.State(), channel, Bytes(spec.name), 0, spec.durable ? 1 : 0, 0,
                     0, table.Get());
  connection.CheckLastRpc(fmt::format("queue.declare '{}'", spec.name));
  Release(connection);
}

void BindQueue(Connection& connection, const std::string& queue, const std::string& exchange,
               const std::string& routing_key) {
  const amqp_channel_t channel = connection.Channel();
  amqp_queue_bind(connection.State(), channel, Bytes(queue), Bytes(exchange),
                  Bytes(routing_key), amqp_empty_table);
  connection.CheckLastRpc(
      fmt::format("queue.bind '{}' to '{}' key '{}'", queue, exchange, routing_key));
  Release(connection);
}

uint32_t DeleteQueue(Connection& connection, const std::string& queue) {
  const amqp_channel_t channel = connection.Channel();
  amqp_queue_delete_ok_t* ok =
      amqp_queue_delete(connection.State(), channel, Bytes(queue), 0, 0);
  connection.CheckLastRpc(fmt::format("queue.delete '{}'", queue));
  const uint32_t count = ok != nullptr ? ok->message_count : 0;
  Release(connection);
  return count;
}

void DeleteExchange(Connection& connection, const std::string& exchange) {
  const amqp_channel_t channel = connection.Channel();
  amqp_exchange_delete(connection.State(), channel, Bytes(exchange), 0);
  connection.CheckLastRpc(fmt::format("exchange.delete '{}'", exchange));
  Release(connection);
}

uint32_t MessageCount(Connection& connection, const std::string& queue) {
  amqp_queue_declare_ok_t* ok = PassiveDeclare(connection, queue);
  const uint32_t count = ok != nullptr ? ok->message_count : 0;
  Release(connection);
  return count;
}

uint32_t ConsumerCount(Connection& connection, const std::string& queue) {
  amqp_queue_declare_ok_t* ok = PassiveDeclare(connection, queue);
  const uint32_t count = ok != nullptr ? ok->consumer_count : 0;
  Release(connection);
  return count;
}

}  // namespace paynotify::amqp

#include "common/consumer/amqp_queue_probe.hpp"

#include "common/amqp/topology.hpp"

namespace paynotify::consumer {

AmqpQueueProbe::AmqpQueueProbe(amqp::BrokerSettings settings) : settings_(std::move(settings)) {}

AmqpQueueProbe::~AmqpQueueProbe() { Close(); }

uint64_t AmqpQueueProbe::ReadyMessages(const std::string& queue) {
  if (!connection_ || !connection_->IsOpen()) {
    connection_.reset();
    connection_ = amqp::Connection::Open(settings_, &rotation_);
  }
  return amqp::MessageCount(*connection_, queue);
}

void AmqpQueueProbe::Close() noexcept {
  if (connection_) connection_->Close();
  connection_.reset();
}

}  // namespace paynotify::consumer

#include "common/amqp/envelope.hpp"

#include <optional>
#include <string>

#include "common/amqp/table.hpp"

namespace paynotify::amqp {
namespace {

std::optional<std::string> OptionalProperty(const amqp_basic_properties_t& properties,
                                            amqp_flags_t flag, const amqp_bytes_t& value) {
  if ((properties._flags & flag) == 0) return std::nullopt;
  return ToString(value);
}

}  // namespace

Delivery ToDelivery(const amqp_envelope_t& e, uint64_t delivery_tag) {
  const amqp_basic_properties_t& p = e.message.properties;
  Delivery delivery;
  delivery.delivery_tag = delivery_tag;
  delivery.redelivered = e.redelivered != 0;
  delivery.exchange = ToString(e.exchange);
  delivery.routing_key = ToString(e.routing_key);
  delivery.body = ToString(e.message.body);
  delivery.message_id = OptionalProperty(p, AMQP_BASIC_MESSAGE_ID_FLAG, p.message_id);
  delivery.content_type = OptionalProperty(p, AMQP_BASIC_CONTENT_TYPE_FLAG, p.content_type);
  delivery.content_encoding = OptionalProperty(p, AMQP_BASIC_CONTENT_ENCODING_FLAG, p.content_encoding);
  delivery.type = OptionalProperty(p, AMQP_BASIC_TYPE_FLAG, p.type);
  delivery.app_id = OptionalProperty(p, AMQP_BASIC_APP_ID_FLAG, p.app_id);
  if ((p._flags & AMQP_BASIC_TIMESTAMP_FLAG) != 0) {
    delivery.timestamp_s = static_cast<int64_t>(p.timestamp);
  }
  if ((p._flags & AMQP_BASIC_DELIVERY_MODE_FLAG) != 0) {
    delivery.delivery_mode = p.delivery_mode;
  }
  if ((p._flags & AMQP_BASIC_HEADERS_FLAG) != 0) delivery.headers = FromTable(p.headers);
  return delivery;
}

}  // namespace paynotify::amqp

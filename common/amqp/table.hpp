#pragma once
// Headers <-> amqp_table_t and amqp_bytes_t helpers, used inside common/amqp only.

#include <string>
#include <vector>

#include <amqp.h>

#include "common/amqp/message.hpp"

namespace paynotify::amqp {

/// An amqp_bytes_t view of `text` (no copy): valid while `text` lives unmodified. rabbitmq-c
/// only reads through the pointer when encoding, hence the const_cast.
inline amqp_bytes_t Bytes(const std::string& text) {
  amqp_bytes_t bytes;
  bytes.len = text.size();
  bytes.bytes = const_cast<char*>(text.data());
  return bytes;
}

/// A copy of received bytes as a string (empty for a null/empty field).
inline std::string ToString(const amqp_bytes_t& bytes) {
  if (bytes.bytes == nullptr || bytes.len == 0) return {};
  return std::string(static_cast<const char*>(bytes.bytes), bytes.len);
}

/// An amqp_table_t view of `headers`. It points into `headers` (no copies), so `headers`
/// must outlive it and stay unmodified. Entries go out in key order.
class FieldTable {
 public:
  explicit FieldTable(const Headers& headers);
  FieldTable(const FieldTable&) = delete;
  FieldTable& operator=(const FieldTable&) = delete;

  amqp_table_t Get() const;  // valid while this object lives

 private:
  std::vector<amqp_table_entry_t> entries_;
};

/// Longest JSON text a nested table or array header is rendered to (then cut, "..." added).
inline constexpr size_t kMaxHeaderJson = 4096;

/// Converts a received table; never fails (see HeaderValue for how types map). Nesting
/// deeper than 32 levels is rendered as "..." instead of recursing further, and a nested
/// value's JSON text is cut at kMaxHeaderJson bytes (no longer valid JSON then): a sender
/// cannot make a header cost more than about its own size in memory, nor more time.
Headers FromTable(const amqp_table_t& table);

/// JSON text of one field value (used for nested tables/arrays and for tests), cut at
/// kMaxHeaderJson bytes with "..." appended.
std::string FieldToJson(const amqp_field_value_t& value, int depth = 0);

}  // namespace paynotify::amqp

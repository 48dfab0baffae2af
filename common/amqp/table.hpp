#pragma once
// Headers <-> amqp_table_t, used inside common/amqp only.

#include <string>
#include <vector>

#include <amqp.h>

#include "common/amqp/message.hpp"

namespace paynotify::amqp {

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

/// Converts a received table; never fails (see HeaderValue for how types map). Nesting
/// deeper than 32 levels is rendered as "..." instead of recursing further.
Headers FromTable(const amqp_table_t& table);

/// JSON text of one field value (used for nested tables/arrays and for tests).
std::string FieldToJson(const amqp_field_value_t& value, int depth = 0);

}  // namespace paynotify::amqp

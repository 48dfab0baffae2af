#include "common/amqp/table.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "common/log/log.hpp"

namespace paynotify::amqp {
namespace {

constexpr int kMaxDepth = 32;
constexpr size_t kMaxJsonText = kMaxHeaderJson;

double DecimalToDouble(const amqp_decimal_t& decimal) {
  return static_cast<double>(static_cast<int32_t>(decimal.value)) /
         std::pow(10.0, static_cast<double>(decimal.decimals));
}

std::string DoubleToJson(double value) {
  if (!std::isfinite(value)) return "null";
  return fmt::format("{}", value);
}

void AppendJson(const amqp_field_value_t& value, int depth, std::string& out);

// A received header's text costs what the sender made it cost: stop rendering once the text
// is over budget, so one delivery's headers stay within a few frames' worth of memory.
bool OverBudget(const std::string& out) { return out.size() > kMaxJsonText; }

void AppendString(const amqp_bytes_t& bytes, std::string& out) {
  // Only what can still fit is escaped (the escape of n bytes is at least n bytes).
  const size_t room = kMaxJsonText + 1 - std::min(out.size(), kMaxJsonText);
  const size_t take = bytes.bytes == nullptr ? 0 : std::min(bytes.len, room);
  out += '"';
  out += log::JsonEscape(std::string_view(static_cast<const char*>(bytes.bytes), take));
  out += '"';
}

void AppendTable(const amqp_table_t& table, int depth, std::string& out) {
  if (depth >= kMaxDepth) {
    out += "\"...\"";
    return;
  }
  out += '{';
  for (int i = 0; i < table.num_entries && !OverBudget(out); ++i) {
    if (i > 0) out += ',';
    AppendString(table.entries[i].key, out);
    out += ':';
    AppendJson(table.entries[i].value, depth + 1, out);
  }
  out += '}';
}

void AppendArray(const amqp_array_t& array, int depth, std::string& out) {
  if (depth >= kMaxDepth) {
    out += "\"...\"";
    return;
  }
  out += '[';
  for (int i = 0; i < array.num_entries && !OverBudget(out); ++i) {
    if (i > 0) out += ',';
    AppendJson(array.entries[i], depth + 1, out);
  }
  out += ']';
}

void AppendJson(const amqp_field_value_t& value, int depth, std::string& out) {
  switch (value.kind) {
    case AMQP_FIELD_KIND_BOOLEAN: out += value.value.boolean ? "true" : "false"; return;
    case AMQP_FIELD_KIND_I8: out += std::to_string(value.value.i8); return;
    case AMQP_FIELD_KIND_U8: out += std::to_string(value.value.u8); return;
    case AMQP_FIELD_KIND_I16: out += std::to_string(value.value.i16); return;
    case AMQP_FIELD_KIND_U16: out += std::to_string(value.value.u16); return;
    case AMQP_FIELD_KIND_I32: out += std::to_string(value.value.i32); return;
    case AMQP_FIELD_KIND_U32: out += std::to_string(value.value.u32); return;
    case AMQP_FIELD_KIND_I64: out += std::to_string(value.value.i64); return;
    case AMQP_FIELD_KIND_U64:
    case AMQP_FIELD_KIND_TIMESTAMP: out += std::to_string(value.value.u64); return;
    case AMQP_FIELD_KIND_F32: out += DoubleToJson(value.value.f32); return;
    case AMQP_FIELD_KIND_F64: out += DoubleToJson(value.value.f64); return;
    case AMQP_FIELD_KIND_DECIMAL: out += DoubleToJson(DecimalToDouble(value.value.decimal)); return;
    case AMQP_FIELD_KIND_UTF8:
    case AMQP_FIELD_KIND_BYTES: AppendString(value.value.bytes, out); return;
    case AMQP_FIELD_KIND_ARRAY: AppendArray(value.value.array, depth, out); return;
    case AMQP_FIELD_KIND_TABLE: AppendTable(value.value.table, depth, out); return;
    case AMQP_FIELD_KIND_VOID: out += "null"; return;
    default: out += fmt::format("\"<unsupported field kind {:#04x}>\"", value.kind); return;
  }
}

}  // namespace

FieldTable::FieldTable(const Headers& headers) {
  entries_.reserve(headers.size());
  for (const auto& [key, value] : headers) {
    amqp_table_entry_t entry{};
    entry.key = Bytes(key);
    if (const auto* text = std::get_if<std::string>(&value)) {
      entry.value.kind = AMQP_FIELD_KIND_UTF8;
      entry.value.value.bytes = Bytes(*text);
    } else if (const auto* number = std::get_if<int64_t>(&value)) {
      entry.value.kind = AMQP_FIELD_KIND_I64;
      entry.value.value.i64 = *number;
    } else if (const auto* flag = std::get_if<bool>(&value)) {
      entry.value.kind = AMQP_FIELD_KIND_BOOLEAN;
      entry.value.value.boolean = *flag ? 1 : 0;
    } else {
      entry.value.kind = AMQP_FIELD_KIND_F64;
      entry.value.value.f64 = std::get<double>(value);
    }
    entries_.push_back(entry);
  }
}

amqp_table_t FieldTable::Get() const {
  amqp_table_t table;
  table.num_entries = static_cast<int>(entries_.size());
  table.entries = entries_.empty() ? nullptr : const_cast<amqp_table_entry_t*>(entries_.data());
  return table;
}

std::string FieldToJson(const amqp_field_value_t& value, int depth) {
  std::string out;
  AppendJson(value, depth, out);
  if (out.size() <= kMaxJsonText) return out;
  size_t cut = kMaxJsonText;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // whole characters
  out.resize(cut);
  out += "...";
  return out;
}

Headers FromTable(const amqp_table_t& table) {
  Headers headers;
  if (table.entries == nullptr) return headers;
  for (int i = 0; i < table.num_entries; ++i) {
    const amqp_table_entry_t& entry = table.entries[i];
    std::string key = ToString(entry.key);
    const amqp_field_value_t& value = entry.value;
    switch (value.kind) {
      case AMQP_FIELD_KIND_BOOLEAN: headers[key] = value.value.boolean != 0; break;
      case AMQP_FIELD_KIND_I8: headers[key] = int64_t{value.value.i8}; break;
      case AMQP_FIELD_KIND_U8: headers[key] = int64_t{value.value.u8}; break;
      case AMQP_FIELD_KIND_I16: headers[key] = int64_t{value.value.i16}; break;
      case AMQP_FIELD_KIND_U16: headers[key] = int64_t{value.value.u16}; break;
      case AMQP_FIELD_KIND_I32: headers[key] = int64_t{value.value.i32}; break;
      case AMQP_FIELD_KIND_U32: headers[key] = int64_t{value.value.u32}; break;
      case AMQP_FIELD_KIND_I64: headers[key] = value.value.i64; break;
      case AMQP_FIELD_KIND_U64:
      case AMQP_FIELD_KIND_TIMESTAMP:
        if (value.value.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          headers[key] = static_cast<int64_t>(value.value.u64);
        } else {
          headers[key] = std::to_string(value.value.u64);
        }
        break;
      case AMQP_FIELD_KIND_F32: headers[key] = static_cast<double>(value.value.f32); break;
      case AMQP_FIELD_KIND_F64: headers[key] = value.value.f64; break;
      case AMQP_FIELD_KIND_DECIMAL: headers[key] = DecimalToDouble(value.value.decimal); break;
      case AMQP_FIELD_KIND_UTF8:
      case AMQP_FIELD_KIND_BYTES: headers[key] = ToString(value.value.bytes); break;
      case AMQP_FIELD_KIND_VOID: break;  // a null header: same as absent
      default: headers[key] = FieldToJson(value, 0); break;  // tables, arrays, unknown kinds
    }
  }
  return headers;
}

}  // namespace paynotify::amqp

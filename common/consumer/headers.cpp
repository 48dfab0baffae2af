#include "common/consumer/headers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace paynotify::consumer {

int AttemptOf(const amqp::Delivery& delivery) {
  auto it = delivery.headers.find(kAttemptHeader);
  if (it == delivery.headers.end()) return 1;
  int64_t value = 1;
  if (const auto* i = std::get_if<int64_t>(&it->second)) {
    value = *i;
  } else if (const auto* s = std::get_if<std::string>(&it->second)) {
    auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), value);
    if (ec != std::errc{} || ptr != s->data() + s->size()) value = 1;
  } else if (const auto* d = std::get_if<double>(&it->second)) {
    // A cast of NaN or of a double beyond int64 is undefined: clamp first.
    if (std::isfinite(*d)) value = static_cast<int64_t>(std::clamp(*d, -1.0, 1'000'000.0));
  }
  if (value < 1) return 1;
  if (value > 1'000'000) return 1'000'000;
  return static_cast<int>(value);
}

}  // namespace paynotify::consumer

#pragma once
/// Every reason learning-service dead-letters a message for: the x-paynotify-reason header of
/// the parked copy and the `reason` label of paynotify_learning_dead_lettered_total. A fixed
/// set, so no message can make up a label value (EnrollmentHandler::DeadLetterReasons).
#include <string_view>

#include "common/consumer/disposition.hpp"

namespace paynotify::learning::reason {

inline constexpr std::string_view kMalformedJson = "malformed-json";        ///< not JSON, not an object, too deep
inline constexpr std::string_view kInvalidMessage = "invalid-message";      ///< a field or property unusable
inline constexpr std::string_view kTooLarge = "too-large";                  ///< body over rabbitmq.listener.max-body-bytes
inline constexpr std::string_view kUnsupportedEncoding = "unsupported-encoding";  ///< e.g. gzip: we read plain JSON
inline constexpr std::string_view kMissingBusinessKey1 = "missing-business-key1";
inline constexpr std::string_view kNonNumericBusinessKey1 = "non-numeric-business-key1";
inline constexpr std::string_view kSelectionMissing = "selection-missing";
/// The consumer mechanism's: every retry the policy allows failed.
inline constexpr std::string_view kRetriesExhausted = consumer::reason::kRetriesExhausted;
inline constexpr std::string_view kApplyFailed = "apply-failed";

inline constexpr std::string_view kAll[] = {kMalformedJson,        kInvalidMessage,         kTooLarge,
                                            kUnsupportedEncoding,  kMissingBusinessKey1,    kNonNumericBusinessKey1,
                                            kSelectionMissing,     kRetriesExhausted,       kApplyFailed};

}  // namespace paynotify::learning::reason

#pragma once
/// Shared by the fuzz targets (issue 10 section 3): how a target states a property, and the
/// properties several targets share. A violated property prints what was expected and aborts,
/// which libFuzzer reports as a crash and saves the input (crash-<sha1>) for replay.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/text/utf8.hpp"

namespace paynotify::fuzz {

[[noreturn]] inline void Fail(const char* what, const char* file, int line) {
  std::fprintf(stderr, "\nfuzz property violated at %s:%d: %s\n", file, line, what);
  std::abort();
}

/// FUZZ_CHECK(cond, "what must hold"): an invariant of the code under test.
#define FUZZ_CHECK(cond, what)                                           \
  do {                                                                   \
    if (!(cond)) ::paynotify::fuzz::Fail((what), __FILE__, __LINE__);   \
  } while (false)

/// True unless the environment variable PAYNOTIFY_FUZZ_RELAX (a comma-separated list) names
/// `group`. Groups: "error-text" (errors printable and bounded), "storable" (accepted text is
/// valid UTF-8 without NUL), "duplicate-key" (one meaning for JSON). Only for exploring past a
/// known finding in a long run (the first finding stops libFuzzer); scripts/fuzz in CI never
/// sets it.
inline bool Checking(std::string_view group) {
  static const std::string relaxed = [] {
    const char* value = std::getenv("PAYNOTIFY_FUZZ_RELAX");
    return "," + std::string(value == nullptr ? "" : value) + ",";
  }();
  return relaxed.find("," + std::string(group) + ",") == std::string::npos;
}

/// FUZZ_CHECK_IN("group", cond, "what must hold"): FUZZ_CHECK unless the group is relaxed.
#define FUZZ_CHECK_IN(group, cond, what)                                                  \
  do {                                                                                   \
    if (::paynotify::fuzz::Checking(group) && !(cond)) {                                 \
      ::paynotify::fuzz::Fail((what), __FILE__, __LINE__);                               \
    }                                                                                    \
  } while (false)

/// Longest single error text a parser of untrusted input may produce: it is logged and sent
/// back to the client, so it must not grow with the input (issue 10 section 2: "anything
/// logged from a request or a message is escaped and truncated to a bound"). Generous on
/// purpose (a 256-byte value fully escaped as \xNN is 1 KiB, plus the field name and text).
inline constexpr size_t kMaxErrorBytes = 2048;

/// True when `text` can go into a log line or a reply as it is: valid UTF-8 (a JSON reply
/// cannot carry anything else) and no control character (a newline would start a forged log
/// line, an ESC would drive a terminal).
inline bool IsPrintable(std::string_view text) {
  if (!text::IsValidUtf8(text)) return false;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return false;
  }
  return true;
}

/// An error a parser reports about untrusted input: non-empty, printable, bounded.
inline void CheckErrorText(std::string_view error, const char* file, int line) {
  if (error.empty()) Fail("an error text is empty", file, line);
  if (!Checking("error-text")) return;
  if (error.size() > kMaxErrorBytes) Fail("an error text is longer than kMaxErrorBytes", file, line);
  if (!IsPrintable(error)) {
    Fail("an error text is not printable (invalid UTF-8 or a control character)", file, line);
  }
}
#define FUZZ_CHECK_ERROR_TEXT(error) ::paynotify::fuzz::CheckErrorText((error), __FILE__, __LINE__)

/// Text PostgreSQL stores exactly as given: valid UTF-8 (the databases are UTF8) and no NUL
/// (libpq takes C strings, so a NUL silently cuts the value: issue 10, "\u0000 inside
/// outBusinessId").
inline bool IsStorableText(std::string_view text) {
  return text::IsValidUtf8(text) && text.find('\0') == std::string_view::npos;
}

}  // namespace paynotify::fuzz

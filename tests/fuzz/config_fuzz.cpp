// Fuzz target: the YAML config reader (common/config/reader.*) through the entries the
// daemons use: order-service's ReadOrderConfig and learning-service's ReadLearningSettings
// (with the pg and amqp settings readers they call). The YAML document is the fuzz input;
// the environment is empty, so only the document decides.
//
// Config files are written by operators, not attackers, but a daemon must still answer any
// document with "exit 2 and every error listed", never a crash or a hang.
//
// Properties, beyond "no crash, no sanitizer report, no hang":
//  - reading either schema throws nothing but config::ConfigErrors, which lists at least one
//    error, each with a message; a document read without error has no recorded errors;
//  - a secret never shows: Redacted() prints database.password / rabbitmq.password as *** or
//    (not set), and no error message quotes a password given in the document.
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "common/config/reader.hpp"
#include "learning-service/app/settings.hpp"
#include "order-service/app/order_config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using paynotify::config::ConfigErrors;
using paynotify::config::Reader;

std::optional<std::string> NoEnvironment(const std::string&) { return std::nullopt; }

// Passwords given in the document that an error could only contain by leaking them: they
// appear in the document once, and the document has no escapes or tags that could build the
// same text elsewhere; mixed-case letters and digits, at least 6, which no message the code
// writes contains by itself.
bool LooksLikeAPassword(std::string_view value) {
  bool lower = false, upper = false, digit = false;
  for (const char c : value) {
    lower = lower || (c >= 'a' && c <= 'z');
    upper = upper || (c >= 'A' && c <= 'Z');
    digit = digit || (c >= '0' && c <= '9');
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return value.size() >= 6 && lower && upper && digit;
}

std::vector<std::string> DocumentPasswords(std::string_view document) {
  std::vector<std::string> passwords;
  if (document.find_first_of("\\!%&*") != std::string_view::npos) return passwords;
  try {
    const YAML::Node root = YAML::Load(std::string(document));
    if (!root.IsMap()) return passwords;
    for (const char* section : {"database", "rabbitmq"}) {
      const YAML::Node parent = root[section];
      if (!parent.IsMap()) continue;
      const YAML::Node password = parent["password"];
      if (!password.IsScalar()) continue;
      const std::string& value = password.Scalar();
      const size_t first = document.find(value);
      if (LooksLikeAPassword(value) && first != std::string_view::npos &&
          document.find(value, first + 1) == std::string_view::npos) {
        passwords.push_back(value);
      }
    }
  } catch (const YAML::Exception&) {
  }
  return passwords;
}

void CheckRedacted(const std::string& redacted) {
  for (const char* key : {"\ndatabase.password: ", "\nrabbitmq.password: "}) {
    const std::string text = "\n" + redacted;
    const size_t at = text.find(key);
    if (at == std::string::npos) continue;
    const std::string_view value = std::string_view(text).substr(at + std::string_view(key).size());
    FUZZ_CHECK(value.starts_with("***") || value.starts_with("(not set)"),
               "Redacted() never shows a password");
  }
}

void CheckErrors(const ConfigErrors& e, const std::vector<std::string>& passwords) {
  FUZZ_CHECK(!e.errors().empty(), "ConfigErrors lists at least one error");
  for (const auto& error : e.errors()) {
    FUZZ_CHECK(!error.message.empty(), "every config error has a message");
    for (const auto& password : passwords) {
      FUZZ_CHECK(error.ToString().find(password) == std::string::npos,
                 "no config error quotes a password");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view document(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> passwords = DocumentPasswords(document);

  {
    Reader reader = Reader::FromString(document, "<fuzz>", "PAYNOTIFY", NoEnvironment);
    try {
      paynotify::order::ReadOrderConfig(reader);
      reader.Finish();
      FUZZ_CHECK(reader.Errors().empty(), "a config read without error recorded none");
      CheckRedacted(reader.Redacted());
    } catch (const ConfigErrors& e) {
      CheckErrors(e, passwords);
    }
  }
  {
    Reader reader = Reader::FromString(document, "<fuzz>", "PAYNOTIFY", NoEnvironment);
    try {
      paynotify::learning::ReadLearningSettings(reader);
      reader.Finish();
      FUZZ_CHECK(reader.Errors().empty(), "a config read without error recorded none");
      CheckRedacted(reader.Redacted());
    } catch (const ConfigErrors& e) {
      CheckErrors(e, passwords);
    }
  }
  return 0;
}

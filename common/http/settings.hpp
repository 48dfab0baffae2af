#pragma once
/// The config keys of one HTTP listener, shared by every daemon.
#include <string_view>

#include "common/config/reader.hpp"
#include "common/http/server.hpp"

namespace paynotify::http {

/// Reads `<prefix>.host`, `.port`, `.max-body-bytes`, `.max-header-bytes`,
/// `.max-connections`, `.worker-threads`, `.max-queued-requests`, `.request-timeout` and
/// `.drain-timeout` over `defaults` (which also supply name and operator_endpoints).
/// Errors are recorded on the reader (the caller calls Finish()).
ServerSettings ReadServerSettings(config::Reader& reader, std::string_view prefix,
                                  ServerSettings defaults);

}  // namespace paynotify::http

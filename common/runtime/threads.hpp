#pragma once
/// Process-wide thread defaults, set once at the start of main().
#include <cstddef>

namespace paynotify::runtime {

/// The stack every thread created from now on gets (std::thread/jthread included), unless it
/// asks otherwise. rabbitmq-c decodes AMQP header tables recursively and a single frame can
/// nest them ~18,000 deep: a thread that consumes untrusted messages needs a stack that
/// survives the deepest frame the broker accepts (measured: 1 MiB crashes, 2 MiB does not).
/// The default 8 MiB comes from RLIMIT_STACK, which a container or a shell may lower, so
/// the daemons set it explicitly. Throws std::runtime_error if the system refuses.
void SetDefaultThreadStackSize(size_t bytes);

inline constexpr size_t kConsumerThreadStack = 16 * 1024 * 1024;

}  // namespace paynotify::runtime

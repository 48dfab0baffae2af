#pragma once
/// The one daemon skeleton (userver's DaemonMain + components, STYLE.md §4): a daemon's
/// main() is `return daemon::Main(argc, argv, spec);` and everything that differs between
/// daemons is in its Spec: the config it reads and the Component it builds.
///
/// Main, in order:
///   1. arguments: `--config <file>` (default Spec::default_config), `--check-config`,
///      `--help`; anything else -> usage on stderr, exit 2.
///   2. process: the default thread stack (runtime::SetDefaultThreadStackSize) and the
///      blocked termination signals, both before any thread exists so every thread inherits
///      them.
///   3. config: Spec::read_config records every problem on the reader; Main calls
///      reader.Finish() -> every error listed on stderr, exit 2. `--check-config` prints the
///      config with secrets redacted and exits 0.
///   4. logging: log::Init(config.log), then the redacted config is logged once.
///   5. Spec::build(config) -> Component::Connect(), retried after Spec::start_backoff while
///      the failure IsTransient (the broker or database is still starting); SIGTERM/SIGINT
///      ends the wait at once (exit 0). A permanent failure (topology mismatch, refused
///      login, any non-retryable error) exits 1.
///   6. Component::Start() -> wait for SIGTERM/SIGINT -> Component::Stop() (the drain) ->
///      exit 0. Any other exception on the way: logged, exit 1.
/// Exit status: 0 clean stop, 1 fatal error, 2 bad usage or config.
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/config/reader.hpp"
#include "common/log/log.hpp"
#include "common/runtime/backoff.hpp"
#include "common/runtime/threads.hpp"

namespace paynotify::daemon {

/// A daemon's running parts as the skeleton drives them. Every member is called from the
/// thread that runs Main, in the order Connect (until it succeeds) -> Start -> Stop.
class Component {
 public:
  virtual ~Component() = default;
  /// Makes sure what the daemon cannot work without is there before it serves: declares
  /// its topology, opens its first connections (a daemon whose adapters connect lazily may
  /// do nothing). Throws on failure; the skeleton retries while IsTransient(error), so it
  /// must be safe to call again after it threw.
  virtual void Connect() = 0;
  /// Starts the workers, then HTTP last. Throws on failure (the daemon exits 1).
  virtual void Start() = 0;
  /// The drain, in this order: readiness false -> HTTP stops (requests in flight finish) ->
  /// workers finish their in-flight work -> AMQP closed -> PostgreSQL closed. Idempotent,
  /// never throws; also safe when Start() never ran.
  virtual void Stop() noexcept = 0;
};

/// What one daemon tells the skeleton. `Config` must have a `log::LogSettings log` member.
template <class Config>
struct Spec {
  std::string name;            ///< "order-service": usage text, messages, the logger name
  std::string default_config;  ///< the config file used without --config
  /// Reads every key the daemon knows (the config schema), recording each problem on the
  /// reader. Never calls reader.Finish(): the skeleton does, so all errors come out at once.
  std::function<Config(config::Reader&)> read_config;
  /// The wait between start attempts: the daemon's reconnect back-off.
  std::function<runtime::BackoffPolicy(const Config&)> start_backoff;
  /// Builds the daemon's parts from its validated config (no blocking network I/O).
  std::function<std::unique_ptr<Component>(Config)> build;
  /// For every thread the process creates (see runtime::SetDefaultThreadStackSize).
  size_t thread_stack = runtime::kConsumerThreadStack;
};

/// True when a start-up failure may heal by itself, so Connect() is retried: amqp::AmqpError
/// with `retryable` (never amqp::TopologyMismatch), and whatever pg::Classify calls
/// transient (lost or unreachable connection, server starting or shutting down). Everything
/// else - a refused AMQP login, a refused database login (pg::LoginRefused, raised by
/// pg::ConnectAtStart, which components use at start for that reason), an SQL error, a bind
/// failure, any other exception - is permanent. The one place where a daemon decides whether to wait or give up at start.
bool IsTransient(const std::exception& error);

/// Where the skeleton waits for SIGTERM/SIGINT. The process implementation uses sigwait
/// (runtime::WaitForTerminationSignal*); tests pass a fake.
class Signals {
 public:
  virtual ~Signals() = default;
  /// The signal number, or nullopt when `timeout` passed without one.
  virtual std::optional<int> WaitFor(std::chrono::milliseconds timeout) = 0;
  /// Blocks until a termination signal arrives; returns its number.
  virtual int Wait() = 0;
};

/// Steps 5 and 6 of Main over an already built component: connect with back-off, start,
/// wait for a signal, stop. Returns the exit status (0 stopped by a signal, 1 permanent or
/// unexpected failure). Logs on the logger named `name`. Apart from Main so tests can drive
/// it with a fake component and fake signals.
int Run(Component& component, runtime::BackoffPolicy start_backoff, Signals& signals,
        const std::string& name);

namespace detail {

/// The parts of Main that do not depend on the Config type.
struct Erased {
  std::string name;
  std::string default_config;
  size_t thread_stack = 0;
  /// Reads the config into the daemon's own storage (errors recorded on the reader).
  std::function<void(config::Reader&)> read_config;
  /// After a successful Finish(): logging settings, back-off, and the builder.
  std::function<log::LogSettings()> log;
  std::function<runtime::BackoffPolicy()> start_backoff;
  std::function<std::unique_ptr<Component>()> build;
};

int Main(int argc, char** argv, const Erased& spec);

}  // namespace detail

/// Runs a daemon; returns its exit status (see the header comment). Never throws.
template <class Config>
int Main(int argc, char** argv, const Spec<Config>& spec) {
  auto config = std::make_shared<std::optional<Config>>();
  detail::Erased erased;
  erased.name = spec.name;
  erased.default_config = spec.default_config;
  erased.thread_stack = spec.thread_stack;
  erased.read_config = [&spec, config](config::Reader& reader) { config->emplace(spec.read_config(reader)); };
  erased.log = [config] { return (*config)->log; };
  erased.start_backoff = [&spec, config] { return spec.start_backoff(**config); };
  erased.build = [&spec, config] { return spec.build(std::move(**config)); };
  return detail::Main(argc, argv, erased);
}

}  // namespace paynotify::daemon

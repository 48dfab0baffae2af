// learning-service: the composition root. The daemon skeleton (common/daemon) does the
// rest: arguments, config (exit 2 listing every error), logging, start with back-off while
// the broker or the database is down, and the drain on SIGTERM/SIGINT (exit 0).
#include "common/daemon/daemon.hpp"
#include "learning-service/app/learning_service.hpp"
#include "learning-service/app/settings.hpp"

int main(int argc, char** argv) {
  using namespace paynotify;
  using learning::LearningSettings;
  return daemon::Main<LearningSettings>(argc, argv, {
      .name = "learning-service",
      .default_config = "config/learning-service.yaml",
      .read_config = learning::ReadLearningSettings,
      .start_backoff = [](const LearningSettings& s) { return s.broker.reconnect; },
      .build = [](LearningSettings s) { return std::make_unique<learning::LearningService>(std::move(s)); },
  });
}

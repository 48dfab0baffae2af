#include "common/runtime/threads.hpp"

#include <pthread.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace paynotify::runtime {

void SetDefaultThreadStackSize(size_t bytes) {
  pthread_attr_t attr;
  if (int rc = pthread_getattr_default_np(&attr); rc != 0) {
    throw std::runtime_error(std::string("pthread_getattr_default_np: ") + std::strerror(rc));
  }
  int rc = pthread_attr_setstacksize(&attr, bytes);
  if (rc == 0) rc = pthread_setattr_default_np(&attr);
  pthread_attr_destroy(&attr);
  if (rc != 0) throw std::runtime_error(std::string("setting the default thread stack: ") + std::strerror(rc));
}

}  // namespace paynotify::runtime

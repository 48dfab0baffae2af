#include "common/runtime/threads.hpp"

#include <pthread.h>

#include <gtest/gtest.h>

#include <thread>

namespace paynotify::runtime {
namespace {

size_t StackOfANewThread() {
  size_t stack = 0;
  std::thread([&stack] {
    pthread_attr_t attr;
    ASSERT_EQ(pthread_getattr_np(pthread_self(), &attr), 0);
    pthread_attr_getstacksize(&attr, &stack);
    pthread_attr_destroy(&attr);
  }).join();
  return stack;
}

TEST(Threads, TheDefaultStackAppliesToThreadsCreatedAfterwards) {
  SetDefaultThreadStackSize(kConsumerThreadStack);
  EXPECT_GE(StackOfANewThread(), kConsumerThreadStack);
  SetDefaultThreadStackSize(1024 * 1024);
  EXPECT_LT(StackOfANewThread(), kConsumerThreadStack);
  SetDefaultThreadStackSize(8 * 1024 * 1024);  // leave the process as gtest found it
}

}  // namespace
}  // namespace paynotify::runtime

# paynotify_test(<name> LABEL unit|integration|e2e SOURCES ... LIBS ... [SERIAL])
#
# Each test case becomes its own ctest entry carrying the label, so `ctest -L unit` and
# the summary count cases, not executables. SERIAL marks tests that inject broker- or
# database-wide faults (restart, close_all_connections): they never run beside another test.
function(paynotify_test name)
  cmake_parse_arguments(T "SERIAL" "LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_LABEL MATCHES "^(unit|integration|e2e)$")
    message(FATAL_ERROR "paynotify_test(${name}): LABEL must be unit, integration or e2e")
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} paynotify_test_support GTest::gtest GTest::gmock GTest::gtest_main)
  set(props LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  if(T_SERIAL)
    list(APPEND props RUN_SERIAL TRUE)
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES ${props})
endfunction()

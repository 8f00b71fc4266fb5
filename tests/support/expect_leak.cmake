# Runs a test executable's hidden leak canary and passes only when the descriptor-leak check
# caught it: a non-zero exit status and the listener's report naming the test case.
# cmake -DEXECUTABLE=<path> -P expect_leak.cmake
execute_process(COMMAND ${EXECUTABLE} "[.leak_canary]"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(report "${out}${err}")
if(status EQUAL 0)
  message(FATAL_ERROR "the leaking test case exited 0: the leak check did not fail it\n${report}")
endif()
if(NOT report MATCHES "descriptor leak in test case 'a socket left open on purpose': fd [0-9]+ -> socket:")
  message(FATAL_ERROR "no descriptor-leak report naming the test case\n${report}")
endif()
message(STATUS "leak caught as expected (exit status ${status})")

# Runs one of a test executable's hidden canaries and passes only when the descriptor check
# caught it: a non-zero exit status and the listener's report, matching REPORT (a regex).
# cmake -DEXECUTABLE=<path> -DTAG=<[.tag]> -DREPORT=<regex> -P expect_leak.cmake
foreach(var EXECUTABLE TAG REPORT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_leak.cmake: -D${var}=... is required")
  endif()
endforeach()
execute_process(COMMAND ${EXECUTABLE} "${TAG}"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(report "${out}${err}")
if(status EQUAL 0)
  message(FATAL_ERROR "the canary ${TAG} exited 0: the descriptor check did not fail it\n${report}")
endif()
if(NOT report MATCHES "${REPORT}")
  message(FATAL_ERROR "no report matching '${REPORT}'\n${report}")
endif()
message(STATUS "caught as expected (exit status ${status})")

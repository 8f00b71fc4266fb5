# Usage: cmake -DCOMPILER=... -DINCLUDE_DIR=... -DSOURCE=file.cpp -P check.cmake
# Passes when SOURCE fails to compile AND the diagnostics contain every `// expect: text` line of
# SOURCE; with `// control: compiles`, SOURCE must also compile with NETKIT_COMPILE_FAIL_CONTROL
# defined, proving that the failure comes from the line under test and not from a typo.
file(STRINGS ${SOURCE} expect_lines REGEX "^// expect: ")
file(STRINGS ${SOURCE} control_lines REGEX "^// control: compiles")
if(NOT expect_lines)
  message(FATAL_ERROR "${SOURCE}: no `// expect:` line; a compile-fail test must name its diagnostic")
endif()

execute_process(COMMAND ${COMPILER} -std=c++20 -fsyntax-only -I${INCLUDE_DIR} ${SOURCE}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(diagnostics "${out}${err}")
if(status EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
foreach(line IN LISTS expect_lines)
  string(REGEX REPLACE "^// expect: " "" wanted "${line}")
  string(FIND "${diagnostics}" "${wanted}" where)
  if(where EQUAL -1)
    message(FATAL_ERROR "${SOURCE}: diagnostics lack \"${wanted}\". They were:\n${diagnostics}")
  endif()
endforeach()

if(control_lines)
  execute_process(COMMAND ${COMPILER} -std=c++20 -fsyntax-only -I${INCLUDE_DIR}
                          -DNETKIT_COMPILE_FAIL_CONTROL ${SOURCE}
                  RESULT_VARIABLE control_status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT control_status EQUAL 0)
    message(FATAL_ERROR "${SOURCE}: the control build (offending line removed) failed too:\n${out}${err}")
  endif()
endif()
message(STATUS "${SOURCE}: fails to compile as expected")

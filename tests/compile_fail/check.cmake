# A compile-fail test: proves that a misuse of netkit does not compile, and fails for the reason
# the test names.
#
# Usage: cmake -DCOMPILER=<c++ compiler> -DINCLUDE_DIR=<netkit>/include -DSOURCE=<file.cpp>
#              [-DEXTRA_FLAGS=<list>] -P check.cmake
#
# The file's own comment lines (anywhere, each starting at column 0) say what to expect:
#   // expect: <text>         the compiler's diagnostics must contain <text> (literal, case
#                             sensitive; several lines = all must appear). At least one
#                             `expect` or `expect-regex` line is required.
#   // expect-regex: <regex>  the diagnostics must match the CMake regular expression <regex>
#   // control: compiles      the file must ALSO compile cleanly with NETKIT_COMPILE_FAIL_CONTROL
#                             defined, where an #ifndef/#else swaps the offending line for a
#                             correct one: this proves the failure comes from the line under test,
#                             not from a typo or a missing include.
#   // first-error: any <why>  opt out of the first-error rule below, saying why on the same line
#
# The first-error rule: the first line of the output that contains "error:" must contain the
# first `expect` text (or match the first `expect-regex` if the file has no `expect` line). A
# mistake is named by the first line a user reads, not somewhere in the notes below it.
# Pick expected text that g++ and clang++ both print: best, the sentence of your static_assert or
# the name of the concept that is not satisfied. Avoid ';' and unbalanced '[' ']' in the text
# (CMake list syntax). The test runs with LC_ALL=C, so g++ prints plain ASCII quotes.
#
# The test passes when: the plain compile fails, every expectation is met, and the control (if
# requested) compiles. Anything else fails with the full compiler output.

foreach(var COMPILER INCLUDE_DIR SOURCE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${SOURCE}")
  message(FATAL_ERROR "check.cmake: ${SOURCE} does not exist")
endif()

file(STRINGS "${SOURCE}" expect_lines REGEX "^// expect: ")
file(STRINGS "${SOURCE}" expect_regex_lines REGEX "^// expect-regex: ")
file(STRINGS "${SOURCE}" control_lines REGEX "^// control: compiles")
file(STRINGS "${SOURCE}" first_error_lines REGEX "^// first-error: ")
set(check_first_error TRUE)
foreach(line IN LISTS first_error_lines)
  string(REGEX REPLACE "^// first-error: " "" value "${line}")
  string(STRIP "${value}" value)
  if(NOT value MATCHES "^any( |$)")
    message(FATAL_ERROR "${SOURCE}: `// first-error: ${value}`: the only value is `any`, "
                        "then the reason")
  endif()
  set(check_first_error FALSE)
endforeach()
if(NOT expect_lines AND NOT expect_regex_lines)
  message(FATAL_ERROR "${SOURCE}: no `// expect: <text>` line; a compile-fail test must name the "
                      "diagnostic it expects")
endif()

# Plain ASCII diagnostics without colour codes, whatever the caller's locale and terminal.
set(ENV{LC_ALL} C)
set(ENV{LANG} C)
set(ENV{GCC_COLORS} "")
set(base_command ${COMPILER} -std=c++20 -fsyntax-only -fdiagnostics-color=never
                 -I${INCLUDE_DIR} ${EXTRA_FLAGS})
get_filename_component(name "${SOURCE}" NAME)

# Prints the details as they are (FATAL_ERROR would re-wrap the compiler's output), then fails.
function(fail summary details)
  message(NOTICE "${details}")
  message(FATAL_ERROR "compile_fail/${name}: ${summary}")
endfunction()

function(command_line out)
  list(JOIN ARGN " " text)
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# 1. The file under test must not compile.
execute_process(COMMAND ${base_command} ${SOURCE}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(diagnostics "${out}${err}")
command_line(shown ${base_command} ${SOURCE})
if(NOT status MATCHES "^[0-9]+$")
  fail("could not run the compiler: ${status}" "Command: ${shown}")
endif()
if(status EQUAL 0)
  fail("it compiled, but it must not" "Command: ${shown}\nOutput:\n${diagnostics}")
endif()

# 2. It must fail for the reason it names.
set(missing "")
foreach(line IN LISTS expect_lines)
  string(REGEX REPLACE "^// expect: " "" wanted "${line}")
  string(STRIP "${wanted}" wanted)
  string(FIND "${diagnostics}" "${wanted}" where)
  if(where EQUAL -1)
    string(APPEND missing "  text:  ${wanted}\n")
  endif()
endforeach()
foreach(line IN LISTS expect_regex_lines)
  string(REGEX REPLACE "^// expect-regex: " "" wanted "${line}")
  string(STRIP "${wanted}" wanted)
  if(NOT diagnostics MATCHES "${wanted}")
    string(APPEND missing "  regex: ${wanted}\n")
  endif()
endforeach()
if(missing)
  fail("it failed to compile, but not with the expected diagnostics"
       "Command: ${shown}\nDiagnostics:\n${diagnostics}\nExpected, but not found in the diagnostics above:\n${missing}")
endif()

# 3. The first line with "error:" must name the mistake: it holds the first expectation.
if(check_first_error)
  string(FIND "${diagnostics}" "error:" at)
  if(at EQUAL -1)
    fail("it failed to compile, but printed no line with \"error:\""
         "Command: ${shown}\nDiagnostics:\n${diagnostics}")
  endif()
  string(SUBSTRING "${diagnostics}" 0 ${at} before)
  string(FIND "${before}" "\n" line_start REVERSE)
  math(EXPR line_start "${line_start} + 1")
  string(SUBSTRING "${diagnostics}" ${line_start} -1 rest)
  string(FIND "${rest}" "\n" line_end)
  string(SUBSTRING "${rest}" 0 ${line_end} first_error)
  if(expect_lines)
    list(GET expect_lines 0 line)
    string(REGEX REPLACE "^// expect: " "" wanted "${line}")
    string(STRIP "${wanted}" wanted)
    string(FIND "${first_error}" "${wanted}" where)
    set(named FALSE)
    if(NOT where EQUAL -1)
      set(named TRUE)
    endif()
  else()
    list(GET expect_regex_lines 0 line)
    string(REGEX REPLACE "^// expect-regex: " "" wanted "${line}")
    string(STRIP "${wanted}" wanted)
    set(named FALSE)
    if(first_error MATCHES "${wanted}")
      set(named TRUE)
    endif()
  endif()
  if(NOT named)
    fail("the first error does not name the mistake"
         "Command: ${shown}\nDiagnostics:\n${diagnostics}\nFirst line with \"error:\":\n  ${first_error}\nExpected it to contain:\n  ${wanted}\n(add `// first-error: any <why>` to the file only if the compilers cannot do better)")
  endif()
endif()

# 4. With the offending line swapped out, it must compile.
if(control_lines)
  execute_process(COMMAND ${base_command} -DNETKIT_COMPILE_FAIL_CONTROL ${SOURCE}
                  RESULT_VARIABLE control_status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT control_status EQUAL 0)
    command_line(shown ${base_command} -DNETKIT_COMPILE_FAIL_CONTROL ${SOURCE})
    fail("the control build (offending line taken out) failed too: the failure may not come from the line under test"
         "Command: ${shown}\nOutput:\n${out}${err}")
  endif()
  message(STATUS "compile_fail/${name}: fails as expected, and the control compiles")
else()
  message(STATUS "compile_fail/${name}: fails as expected (no control build requested)")
endif()

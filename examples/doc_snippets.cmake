# Checks that every ```cpp block of a document is an excerpt of one of the examples, line for
# line at any indentation, so the code a document quotes is code that CI compiles and runs.
#
# Usage: cmake -DDOCUMENT=<file.md> -DEXAMPLES=<examples dir> -P doc_snippets.cmake

cmake_minimum_required(VERSION 3.25)

foreach(var DOCUMENT EXAMPLES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "doc_snippets.cmake: -D${var}=... is required")
  endif()
endforeach()

# Every example at every indentation depth (0 to 4 levels of 4 spaces), one after the other: a
# snippet quoted from inside a function is found at the depth where its first line starts.
# Strings are never treated as lists here: C++ is full of ';' and '['.
file(GLOB sources "${EXAMPLES}/*.cpp")
set(haystack "")
foreach(source IN LISTS sources)
  file(READ "${source}" text)
  set(text "\n${text}")
  foreach(depth RANGE 4)
    string(APPEND haystack "${text}\n")
    string(REPLACE "\n    " "\n" text "${text}")
  endforeach()
endforeach()

file(READ "${DOCUMENT}" rest)
get_filename_component(document_name "${DOCUMENT}" NAME)
set(count 0)
set(missing "")
while(TRUE)
  string(FIND "${rest}" "```cpp\n" start)
  if(start EQUAL -1)
    break()
  endif()
  math(EXPR start "${start} + 7")
  string(SUBSTRING "${rest}" ${start} -1 rest)
  string(FIND "${rest}" "```" stop)
  if(stop EQUAL -1)
    message(FATAL_ERROR "${document_name}: a ```cpp block is never closed")
  endif()
  string(SUBSTRING "${rest}" 0 ${stop} snippet)
  string(SUBSTRING "${rest}" ${stop} -1 rest)
  math(EXPR count "${count} + 1")
  # A match must start at the beginning of a line; the snippet itself ends with a newline.
  string(FIND "${haystack}" "\n${snippet}" where)
  if(where EQUAL -1)
    string(APPEND missing "--- snippet ${count}:\n${snippet}")
  endif()
endwhile()

if(count EQUAL 0)
  message(FATAL_ERROR "${document_name}: no ```cpp block found")
endif()
if(missing)
  message(NOTICE "${missing}")
  message(FATAL_ERROR "${document_name}: the snippets above are not excerpts of any "
                      "${EXAMPLES}/*.cpp: quote the example exactly, or change both")
endif()
message(STATUS "${document_name}: all ${count} C++ snippets are excerpts of the examples")

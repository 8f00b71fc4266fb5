# Every public header compiles on its own: one generated translation unit per header under
# include/netkit/ (subdirectories too), including that header and nothing else (twice, so a
# missing `#pragma once` shows). Built into the OBJECT library `netkit_header_check` in
# developer mode, with the developer warnings.
#
# The check compiles in GNU mode (-std=gnu++20, where g++ and clang define the macro `unix`), so
# a header that names anything `unix` fails here even though the tests build in ISO mode.

file(GLOB_RECURSE netkit_public_headers CONFIGURE_DEPENDS
     RELATIVE ${PROJECT_SOURCE_DIR}/include
     ${PROJECT_SOURCE_DIR}/include/netkit/*.hpp)
if(NOT netkit_public_headers)
  message(STATUS "netkit: no headers under include/netkit/ yet; no header check")
  return()
endif()

set(netkit_header_check_sources)
foreach(header IN LISTS netkit_public_headers)
  string(MAKE_C_IDENTIFIER ${header} stem)
  set(source ${PROJECT_BINARY_DIR}/header-check/${stem}.cpp)
  # file(CONFIGURE) rewrites only on change, so a reconfigure does not rebuild every check.
  file(CONFIGURE OUTPUT ${source}
       CONTENT "// Generated: ${header} must compile on its own.\n#include <${header}>\n#include <${header}> // NOLINT(readability-duplicate-include): the guard works\n"
       @ONLY)
  list(APPEND netkit_header_check_sources ${source})
endforeach()

add_library(netkit_header_check OBJECT ${netkit_header_check_sources})
# netkit_fmt only for netkit/fmt.hpp, the one opt-in header that needs it.
target_link_libraries(netkit_header_check PRIVATE netkit::netkit netkit_warnings netkit_fmt)
set_target_properties(netkit_header_check PROPERTIES CXX_EXTENSIONS ON)

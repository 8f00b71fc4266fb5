# Developer flags for netkit's own tests, examples and benchmarks.
#
# They live on the INTERFACE target `netkit_warnings`, which our own targets link; the
# consumer-facing `netkit::netkit` never carries them, so a project that uses netkit sees none of
# our warnings and none of our -Werror. The target is empty unless NETKIT_DEVELOPER_MODE is ON.
# It also forwards `netkit_sanitizers` (see sanitizers.cmake), so linking this one target is all
# an example or a benchmark needs.

add_library(netkit_warnings INTERFACE)

if(NETKIT_DEVELOPER_MODE)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(netkit_warnings INTERFACE
      -Wall -Wextra -Wpedantic
      -Wconversion -Wsign-conversion
      -Wshadow
      -Wold-style-cast
      -Werror)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND NETKIT_SANITIZE)
      # g++ 12 with -fsanitize and -O2 reports -Wmaybe-uninitialized inside libstdc++ itself
      # (<regex>, <functional>): instrumentation defeats its flow analysis. The plain Debug
      # builds and clang keep the check.
      target_compile_options(netkit_warnings INTERFACE -Wno-maybe-uninitialized)
    endif()
  else()
    message(WARNING "netkit: no developer warning set for ${CMAKE_CXX_COMPILER_ID}")
  endif()
endif()

include(${CMAKE_CURRENT_LIST_DIR}/sanitizers.cmake)
target_link_libraries(netkit_warnings INTERFACE netkit_sanitizers)

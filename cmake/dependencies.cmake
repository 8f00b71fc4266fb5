# Dependencies of netkit's tests, examples and benchmarks (the library itself has none).
#
# An installed package is always preferred; FetchContent is the last resort and needs a network.
# A fresh Debian machine gets them with apt-get (catch2, libfmt-dev, libasio-dev; see .ci/run).
#
# Defines:
#   netkit_catch2         INTERFACE: Catch2 v3 or v2, plus NETKIT_CATCH2_V3=1|0 and
#                         NETKIT_CATCH2_MAJOR=3|2 for tests/support/catch.hpp
#   NETKIT_CATCH2_CMAKE_DIR   the directory holding Catch.cmake (catch_discover_tests)
#   netkit_fmt            fmt::fmt (an installed fmt, or 9.1.0 fetched), header-only on request
#   netkit_asio           INTERFACE: standalone Asio (header asio.hpp), benchmarks only, if found
#   Threads::Threads
include(FetchContent)

find_package(Threads REQUIRED)

# --- Catch2: v3 installed, else v2 installed (Debian bookworm ships 2.13), else v3 fetched ---
if(NETKIT_BUILD_TESTS)
  find_package(Catch2 3 QUIET CONFIG)
  if(Catch2_FOUND)
    set(NETKIT_CATCH2_MAJOR 3)
    set(NETKIT_CATCH2_CMAKE_DIR ${Catch2_DIR})
  else()
    find_package(Catch2 2 QUIET CONFIG)
    if(Catch2_FOUND)
      set(NETKIT_CATCH2_MAJOR 2)
      set(NETKIT_CATCH2_CMAKE_DIR ${Catch2_DIR})
    else()
      message(STATUS "netkit: no installed Catch2; fetching v3.5.4 (needs a network)")
      set(CATCH_INSTALL_DOCS OFF CACHE BOOL "")
      set(CATCH_INSTALL_EXTRAS OFF CACHE BOOL "")
      FetchContent_Declare(Catch2
        GIT_REPOSITORY https://github.com/catchorg/Catch2.git
        GIT_TAG v3.5.4
        GIT_SHALLOW TRUE
        SYSTEM)
      FetchContent_MakeAvailable(Catch2)
      set(NETKIT_CATCH2_MAJOR 3)
      set(NETKIT_CATCH2_CMAKE_DIR ${catch2_SOURCE_DIR}/extras)
    endif()
  endif()
  if(NOT EXISTS ${NETKIT_CATCH2_CMAKE_DIR}/Catch.cmake)
    message(FATAL_ERROR "netkit: Catch2 v${NETKIT_CATCH2_MAJOR} found, but not its Catch.cmake "
                        "(looked in ${NETKIT_CATCH2_CMAKE_DIR})")
  endif()
  message(STATUS "netkit: Catch2 v${NETKIT_CATCH2_MAJOR} (${NETKIT_CATCH2_CMAKE_DIR})")

  add_library(netkit_catch2 INTERFACE)
  # v2's Catch2::Catch2 is the single header; v3's is the compiled library without a main
  # (tests/support/main.cpp is ours, for the descriptor-leak listener).
  target_link_libraries(netkit_catch2 INTERFACE Catch2::Catch2)
  if(NETKIT_CATCH2_MAJOR EQUAL 3)
    target_compile_definitions(netkit_catch2 INTERFACE NETKIT_CATCH2_V3=1 NETKIT_CATCH2_MAJOR=3)
  else()
    target_compile_definitions(netkit_catch2 INTERFACE NETKIT_CATCH2_V3=0 NETKIT_CATCH2_MAJOR=2)
  endif()
endif()

# --- fmt: tests, examples, benchmarks and the header check of netkit/fmt.hpp ---
find_package(fmt QUIET CONFIG)
if(fmt_FOUND)
  message(STATUS "netkit: fmt ${fmt_VERSION} (installed)")
else()
  message(STATUS "netkit: no installed fmt; fetching 9.1.0 (needs a network)")
  FetchContent_Declare(fmt
    GIT_REPOSITORY https://github.com/fmtlib/fmt.git
    GIT_TAG 9.1.0
    GIT_SHALLOW TRUE
    SYSTEM)
  FetchContent_MakeAvailable(fmt)
endif()
# What netkit's own targets link. An installed libfmt is compiled against one standard library;
# a build against another (the libcxx preset: clang with libc++) takes fmt header-only.
option(NETKIT_FMT_HEADER_ONLY "Use fmt header-only (for a standard library other than fmt's)" OFF)
add_library(netkit_fmt INTERFACE)
if(NETKIT_FMT_HEADER_ONLY)
  target_link_libraries(netkit_fmt INTERFACE fmt::fmt-header-only)
else()
  target_link_libraries(netkit_fmt INTERFACE fmt::fmt)
endif()

# --- standalone Asio (Debian's libasio-dev), for the side-by-side benchmarks only ---
if(NETKIT_BUILD_BENCHMARKS)
  find_path(NETKIT_ASIO_INCLUDE_DIR asio.hpp DOC "directory holding standalone Asio's asio.hpp")
  if(NETKIT_ASIO_INCLUDE_DIR)
    message(STATUS "netkit: standalone Asio in ${NETKIT_ASIO_INCLUDE_DIR}")
    add_library(netkit_asio INTERFACE)
    target_include_directories(netkit_asio SYSTEM INTERFACE ${NETKIT_ASIO_INCLUDE_DIR})
    target_compile_definitions(netkit_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED)
    target_link_libraries(netkit_asio INTERFACE Threads::Threads)
  else()
    message(STATUS "netkit: standalone Asio not found; benchmarks go without the Asio column")
  endif()
endif()

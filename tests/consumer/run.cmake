# Builds and runs one consumer from scratch.
#
# Usage: cmake -DKIND=fetchcontent|subdirectory|find_package|pkg-config
#              -DNETKIT_SOURCE_DIR=<checkout> -DWORK_DIR=<scratch dir> -DCXX=<compiler>
#              [-DNETKIT_BINARY_DIR=<netkit build dir, for find_package and pkg-config>]
#              [-DPKG_CONFIG=<pkg-config program> -DNETKIT_VERSION=<x.y.z>, for pkg-config]
#              [-DGENERATOR=<generator>] [-DMAKE_PROGRAM=<path>] -P run.cmake
#
# pkg-config builds no CMake project: it compiles main.cpp with the flags of the installed
# netkit.pc only, as `<compiler> -std=c++20 $(pkg-config --cflags netkit) main.cpp` would.

foreach(var KIND NETKIT_SOURCE_DIR WORK_DIR CXX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT GENERATOR)
  set(GENERATOR Ninja)
endif()

get_filename_component(here "${CMAKE_SCRIPT_MODE_FILE}" DIRECTORY)
file(REMOVE_RECURSE "${WORK_DIR}")

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "consumer/${KIND}: ${step} failed (${status})")
  endif()
endfunction()

set(extra_args "")
if(KIND STREQUAL "find_package" OR KIND STREQUAL "pkg-config")
  if(NOT NETKIT_BINARY_DIR)
    message(FATAL_ERROR "run.cmake: ${KIND} needs -DNETKIT_BINARY_DIR=<netkit build dir>")
  endif()
  set(prefix "${WORK_DIR}/prefix")
  run("cmake --install" ${CMAKE_COMMAND} --install "${NETKIT_BINARY_DIR}" --prefix "${prefix}"
                        --component netkit_development)
  foreach(file IN ITEMS include/netkit/netkit.hpp
                        share/netkit/cmake/netkit-config.cmake
                        share/netkit/cmake/netkit-config-version.cmake
                        share/netkit/cmake/netkit-targets.cmake
                        share/pkgconfig/netkit.pc)
    if(NOT EXISTS "${prefix}/${file}")
      message(FATAL_ERROR "consumer/${KIND}: the install lacks ${file}")
    endif()
  endforeach()
  list(APPEND extra_args "-DCMAKE_PREFIX_PATH=${prefix}")
endif()

if(KIND STREQUAL "pkg-config")
  foreach(var PKG_CONFIG NETKIT_VERSION)
    if(NOT ${var})
      message(FATAL_ERROR "run.cmake: pkg-config needs -D${var}=...")
    endif()
  endforeach()
  # PKG_CONFIG_PATH as a user would set it; PKG_CONFIG_LIBDIR so that no netkit.pc installed on
  # this machine can stand in for the one under test.
  set(ENV{PKG_CONFIG_PATH} "${prefix}/share/pkgconfig")
  set(ENV{PKG_CONFIG_LIBDIR} "${prefix}/share/pkgconfig")
  function(pkg_config out)
    execute_process(COMMAND "${PKG_CONFIG}" ${ARGN} netkit RESULT_VARIABLE status
                    OUTPUT_VARIABLE output OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "consumer/pkg-config: pkg-config ${ARGN} netkit failed (${status})")
    endif()
    set(${out} "${output}" PARENT_SCOPE)
  endfunction()
  pkg_config(version --modversion)
  if(NOT version STREQUAL NETKIT_VERSION)
    message(FATAL_ERROR "consumer/pkg-config: netkit.pc says version '${version}', "
                        "the project is ${NETKIT_VERSION}")
  endif()
  pkg_config(cflags --cflags)
  pkg_config(libs --libs)
  message(STATUS "consumer/pkg-config: netkit ${version}: --cflags '${cflags}' --libs '${libs}'")
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  separate_arguments(libs UNIX_COMMAND "${libs}")
  file(MAKE_DIRECTORY "${WORK_DIR}/build")
  separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
  run("compile" "${CXX}" -std=c++20 ${cxx_flags} ${cflags} "${here}/main.cpp" -o "${WORK_DIR}/build/consumer"
                ${libs})
  run("the loopback exchange" "${WORK_DIR}/build/consumer")
  message(STATUS "consumer/pkg-config: compiled with pkg-config's flags and exchanged bytes")
  return()
endif()
if(MAKE_PROGRAM)
  list(APPEND extra_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

run("configure" ${CMAKE_COMMAND} -S "${here}/${KIND}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
                "-DCMAKE_CXX_COMPILER=${CXX}" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" -DCMAKE_BUILD_TYPE=Debug
                "-DNETKIT_SOURCE_DIR=${NETKIT_SOURCE_DIR}"
                -DFETCHCONTENT_FULLY_DISCONNECTED=ON ${extra_args})
run("build" ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("the loopback exchange" "${WORK_DIR}/build/consumer")
message(STATUS "consumer/${KIND}: configured, built and exchanged bytes")

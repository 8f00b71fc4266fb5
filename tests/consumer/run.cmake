# Builds and runs one consumer project from scratch.
#
# Usage: cmake -DKIND=fetchcontent|subdirectory|find_package -DNETKIT_SOURCE_DIR=<checkout>
#              -DNETKIT_BINARY_DIR=<netkit build dir, for find_package> -DWORK_DIR=<scratch dir>
#              -DCXX=<compiler> [-DGENERATOR=<generator>] [-DMAKE_PROGRAM=<path>] -P run.cmake

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
if(KIND STREQUAL "find_package")
  if(NOT NETKIT_BINARY_DIR)
    message(FATAL_ERROR "run.cmake: find_package needs -DNETKIT_BINARY_DIR=<netkit build dir>")
  endif()
  set(prefix "${WORK_DIR}/prefix")
  run("cmake --install" ${CMAKE_COMMAND} --install "${NETKIT_BINARY_DIR}" --prefix "${prefix}"
                        --component netkit_development)
  foreach(file IN ITEMS include/netkit/netkit.hpp
                        share/netkit/cmake/netkit-config.cmake
                        share/netkit/cmake/netkit-config-version.cmake
                        share/netkit/cmake/netkit-targets.cmake)
    if(NOT EXISTS "${prefix}/${file}")
      message(FATAL_ERROR "consumer/find_package: the install lacks ${file}")
    endif()
  endforeach()
  list(APPEND extra_args "-DCMAKE_PREFIX_PATH=${prefix}")
endif()
if(MAKE_PROGRAM)
  list(APPEND extra_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

run("configure" ${CMAKE_COMMAND} -S "${here}/${KIND}" -B "${WORK_DIR}/build" -G "${GENERATOR}"
                "-DCMAKE_CXX_COMPILER=${CXX}" -DCMAKE_BUILD_TYPE=Debug
                "-DNETKIT_SOURCE_DIR=${NETKIT_SOURCE_DIR}"
                -DFETCHCONTENT_FULLY_DISCONNECTED=ON ${extra_args})
run("build" ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("the loopback exchange" "${WORK_DIR}/build/consumer")
message(STATUS "consumer/${KIND}: configured, built and exchanged bytes")

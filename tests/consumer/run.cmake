# Usage: cmake -DKIND=fetchcontent|subdirectory|find_package -DNETKIT_SOURCE_DIR=... -DWORK_DIR=...
#              -DCXX=... [-DINSTALL_FROM=<netkit build dir>] -P run.cmake
# Configures, builds and runs one consumer project from scratch.
file(REMOVE_RECURSE ${WORK_DIR})
set(extra)
if(KIND STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${INSTALL_FROM} --prefix ${WORK_DIR}/prefix
                  RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "cmake --install failed")
  endif()
  foreach(file netkit-config.cmake netkit-config-version.cmake netkit-targets.cmake)
    if(NOT EXISTS ${WORK_DIR}/prefix/share/netkit/cmake/${file})
      message(FATAL_ERROR "install lacks share/netkit/cmake/${file}")
    endif()
  endforeach()
  set(extra -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
endif()
get_filename_component(here ${CMAKE_SCRIPT_MODE_FILE} DIRECTORY)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${here}/${KIND} -B ${WORK_DIR}/build -G Ninja
                        -DCMAKE_CXX_COMPILER=${CXX} -DNETKIT_SOURCE_DIR=${NETKIT_SOURCE_DIR}
                        -DFETCHCONTENT_FULLY_DISCONNECTED=ON ${extra}
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "configuring the ${KIND} consumer failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "building the ${KIND} consumer failed")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the ${KIND} consumer's exchange failed")
endif()

# The API reference: Doxygen over include/netkit (never netkit::detail), HTML into the build tree.
# Included only when netkit is the top-level project and doxygen is installed (Debian: doxygen).
#
#   netkit_docs           target: writes <build dir>/docs/api/html/index.html
#   NETKIT_BUILD_DOCS     ON also builds the reference with the default target (`all`)
#   docs/api-reference    ctest test (label `docs`, added by the top-level CMakeLists.txt when
#                         the tests are on): the same run, failing on any Doxygen warning, an
#                         undocumented public name included

set(NETKIT_DOCS_OUTPUT_DIR ${PROJECT_BINARY_DIR}/docs/api)
set(NETKIT_DOXYFILE ${PROJECT_BINARY_DIR}/docs/Doxyfile)
configure_file(${PROJECT_SOURCE_DIR}/docs/api/Doxyfile.in ${NETKIT_DOXYFILE} @ONLY)

file(GLOB_RECURSE netkit_public_headers CONFIGURE_DEPENDS
     ${PROJECT_SOURCE_DIR}/include/netkit/*.hpp)
if(NETKIT_BUILD_DOCS)
  set(netkit_docs_all ALL)
else()
  set(netkit_docs_all "")
endif()
add_custom_command(
  OUTPUT ${NETKIT_DOCS_OUTPUT_DIR}/html/index.html
  COMMAND ${CMAKE_COMMAND} -E make_directory ${NETKIT_DOCS_OUTPUT_DIR}
  COMMAND ${NETKIT_DOXYGEN} ${NETKIT_DOXYFILE}
  DEPENDS ${NETKIT_DOXYFILE} ${netkit_public_headers}
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
  COMMENT "API reference (Doxygen): ${NETKIT_DOCS_OUTPUT_DIR}/html/index.html"
  VERBATIM)
add_custom_target(netkit_docs ${netkit_docs_all}
                  DEPENDS ${NETKIT_DOCS_OUTPUT_DIR}/html/index.html)

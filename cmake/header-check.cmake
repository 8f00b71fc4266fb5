# Every public header must compile on its own: one generated translation unit per header that
# includes nothing else.
file(GLOB_RECURSE netkit_public_headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/include
     ${PROJECT_SOURCE_DIR}/include/netkit/*.hpp)
set(netkit_header_check_sources)
foreach(header IN LISTS netkit_public_headers)
  string(MAKE_C_IDENTIFIER ${header} stem)
  set(source ${PROJECT_BINARY_DIR}/header-check/${stem}.cpp)
  file(CONFIGURE OUTPUT ${source} CONTENT "#include <${header}>\n")
  list(APPEND netkit_header_check_sources ${source})
endforeach()
add_library(netkit_header_check OBJECT ${netkit_header_check_sources})
target_link_libraries(netkit_header_check PRIVATE netkit::netkit netkit_warnings fmt::fmt)

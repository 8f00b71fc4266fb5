# Included by each consumer project after netkit::netkit exists: what a consumer gets from netkit
# is the library and nothing of netkit's own development setup.
if(NOT TARGET netkit::netkit)
  message(FATAL_ERROR "netkit::netkit is not defined")
endif()
foreach(internal IN ITEMS netkit_warnings netkit_sanitizers netkit_test_main netkit_catch2
                          netkit_header_check)
  if(TARGET ${internal})
    message(FATAL_ERROR "netkit as a dependency must not define its development target ${internal}")
  endif()
endforeach()
foreach(property IN ITEMS INTERFACE_COMPILE_OPTIONS INTERFACE_LINK_OPTIONS INTERFACE_LINK_LIBRARIES)
  get_target_property(value netkit::netkit ${property})
  if(value)
    message(FATAL_ERROR "netkit::netkit must not impose ${property} on consumers: ${value}")
  endif()
endforeach()

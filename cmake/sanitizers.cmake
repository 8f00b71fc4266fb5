# NETKIT_SANITIZE: a comma- or semicolon-separated list of sanitizers for netkit's own targets
# (tests, examples, benchmarks, the header check), e.g. "address,undefined" or "thread".
# The flags sit on the INTERFACE target `netkit_sanitizers`, never on netkit::netkit.

add_library(netkit_sanitizers INTERFACE)

if(NOT NETKIT_SANITIZE)
  return()
endif()

string(REPLACE "," ";" netkit_sanitizer_list "${NETKIT_SANITIZE}")
list(TRANSFORM netkit_sanitizer_list STRIP)
list(REMOVE_ITEM netkit_sanitizer_list "")
foreach(sanitizer IN LISTS netkit_sanitizer_list)
  if(NOT sanitizer MATCHES "^(address|undefined|thread|leak)$")
    message(FATAL_ERROR "netkit: NETKIT_SANITIZE: unknown sanitizer '${sanitizer}' "
                        "(use address, undefined, leak or thread)")
  endif()
endforeach()
if("thread" IN_LIST netkit_sanitizer_list AND ("address" IN_LIST netkit_sanitizer_list
                                               OR "leak" IN_LIST netkit_sanitizer_list))
  message(FATAL_ERROR "netkit: NETKIT_SANITIZE: thread cannot be combined with address or leak")
endif()
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  message(FATAL_ERROR "netkit: NETKIT_SANITIZE needs g++ or clang++")
endif()

list(JOIN netkit_sanitizer_list "," netkit_sanitizer_arg)
set(netkit_sanitizer_flags -fsanitize=${netkit_sanitizer_arg} -fno-omit-frame-pointer)
if("undefined" IN_LIST netkit_sanitizer_list)
  # Undefined behaviour stops the test instead of printing a line nobody reads.
  list(APPEND netkit_sanitizer_flags -fno-sanitize-recover=undefined)
endif()
target_compile_options(netkit_sanitizers INTERFACE ${netkit_sanitizer_flags})
target_link_options(netkit_sanitizers INTERFACE ${netkit_sanitizer_flags})
message(STATUS "netkit: sanitizers: ${netkit_sanitizer_arg}")

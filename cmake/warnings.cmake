# Warning and sanitizer flags for netkit's own tests, examples and benchmarks. They live on an
# INTERFACE target those link; the consumer-facing netkit::netkit never carries them.
add_library(netkit_warnings INTERFACE)
if(NETKIT_DEVELOPER_MODE)
  target_compile_options(netkit_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Werror)
endif()

if(NETKIT_SANITIZE)
  set(netkit_sanitize_flags -fsanitize=${NETKIT_SANITIZE} -fno-omit-frame-pointer)
  if(NETKIT_SANITIZE MATCHES "undefined")
    list(APPEND netkit_sanitize_flags -fno-sanitize-recover=undefined)
  endif()
  target_compile_options(netkit_warnings INTERFACE ${netkit_sanitize_flags})
  target_link_options(netkit_warnings INTERFACE ${netkit_sanitize_flags})
endif()

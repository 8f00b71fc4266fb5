include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(netkit_config_dir ${CMAKE_INSTALL_DATADIR}/netkit/cmake)

install(DIRECTORY include/netkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT netkit_development)
install(TARGETS netkit EXPORT netkit-targets)
install(EXPORT netkit-targets NAMESPACE netkit:: DESTINATION ${netkit_config_dir}
        COMPONENT netkit_development)

configure_package_config_file(cmake/netkit-config.cmake.in
  ${PROJECT_BINARY_DIR}/netkit-config.cmake INSTALL_DESTINATION ${netkit_config_dir})
# Header-only: the same package serves 32- and 64-bit consumers.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/netkit-config-version.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/netkit-config.cmake ${PROJECT_BINARY_DIR}/netkit-config-version.cmake
        DESTINATION ${netkit_config_dir} COMPONENT netkit_development)

# Install rules: headers, the exported target netkit::netkit, and a relocatable package config
# (share/netkit/cmake/netkit-config.cmake) so that `find_package(netkit 0.1 CONFIG)` works.
# Everything is in the component `netkit_development`.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Header-only: the package is architecture-independent, so it goes under share/, not lib/.
set(NETKIT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_DATADIR}/netkit/cmake
    CACHE STRING "where netkit's package config files are installed, relative to the prefix")
mark_as_advanced(NETKIT_INSTALL_CMAKEDIR)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/netkit
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT netkit_development
        FILES_MATCHING PATTERN "*.hpp")
install(TARGETS netkit EXPORT netkit-targets COMPONENT netkit_development)
install(EXPORT netkit-targets
        NAMESPACE netkit::
        DESTINATION ${NETKIT_INSTALL_CMAKEDIR}
        COMPONENT netkit_development)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/netkit-config.cmake.in
  ${PROJECT_BINARY_DIR}/netkit-config.cmake
  INSTALL_DESTINATION ${NETKIT_INSTALL_CMAKEDIR})
# While netkit is 0.x, a minor release may break the API (semver's rule for 0.y.z), so a request
# for 0.1 accepts 0.1.z only; from 1.0 on this becomes SameMajorVersion.
# ARCH_INDEPENDENT: the headers serve 32- and 64-bit consumers alike.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/netkit-config-version.cmake
  COMPATIBILITY SameMinorVersion
  ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/netkit-config.cmake
              ${PROJECT_BINARY_DIR}/netkit-config-version.cmake
        DESTINATION ${NETKIT_INSTALL_CMAKEDIR}
        COMPONENT netkit_development)

# Install rules: headers, the exported target netkit::netkit, a relocatable package config
# (share/netkit/cmake/netkit-config.cmake) so that `find_package(netkit 0.1 CONFIG)` works, and a
# relocatable pkg-config file (share/pkgconfig/netkit.pc) for builds without CMake.
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

# pkg-config: `g++ -std=c++20 $(pkg-config --cflags netkit) ...`. Header-only and dependency-free,
# so there are no Libs; -std=c++20 is the consumer's choice (its Description says C++20 is needed),
# as cxx_std_20 is for CMake consumers. The prefix is computed from the file's own directory
# (${pcfiledir}), so `cmake --install --prefix <anywhere>` gives a working file.
set(NETKIT_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_DATADIR}/pkgconfig
    CACHE STRING "where netkit.pc is installed, relative to the prefix")
mark_as_advanced(NETKIT_INSTALL_PKGCONFIGDIR)
if(IS_ABSOLUTE "${NETKIT_INSTALL_PKGCONFIGDIR}")
  set(netkit_pc_prefix "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH netkit_pc_up "/prefix/${NETKIT_INSTALL_PKGCONFIGDIR}" "/prefix")
  string(REGEX REPLACE "/$" "" netkit_pc_up "${netkit_pc_up}")
  set(netkit_pc_prefix "\${pcfiledir}/${netkit_pc_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(netkit_pc_includedir "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(netkit_pc_includedir "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/netkit.pc.in ${PROJECT_BINARY_DIR}/netkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/netkit.pc
        DESTINATION ${NETKIT_INSTALL_PKGCONFIGDIR}
        COMPONENT netkit_development)

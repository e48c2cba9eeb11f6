# `cmake --install` puts the headers, the library and an admission-config.cmake that exports
# admission:: targets, with a version file, so consumers can find_package(admission).
include(CMakePackageConfigHelpers)

# (The targets install themselves into the export set admissionTargets: src/CMakeLists.txt.)
install(DIRECTORY include/admission DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/admission/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/admission)

set(ADMISSION_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/admission)
install(EXPORT admissionTargets NAMESPACE admission:: DESTINATION ${ADMISSION_CMAKE_DIR})
configure_package_config_file(cmake/admission-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/admission-config.cmake
  INSTALL_DESTINATION ${ADMISSION_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/admission-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/admission-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/admission-config-version.cmake
  DESTINATION ${ADMISSION_CMAKE_DIR})

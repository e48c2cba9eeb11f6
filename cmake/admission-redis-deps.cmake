# Dependencies of admission::redis for consumers of an installed admission package. Included
# by admission-config.cmake before admissionTargets.cmake, because the exported admission::redis
# links PkgConfig::HIREDIS, which must exist when the targets file is loaded. Installed only
# when the Redis store was built.
#
# Consumers who use only admission::admission must still be able to find_package(admission)
# without hiredis' pkg-config file, so a missing hiredis is not an error here: the target then
# just names the library, and only linking admission::redis would fail.
if(NOT TARGET PkgConfig::HIREDIS)
  find_package(PkgConfig QUIET)
endif()
if(NOT TARGET PkgConfig::HIREDIS AND PkgConfig_FOUND)
  pkg_check_modules(HIREDIS QUIET IMPORTED_TARGET GLOBAL hiredis)
endif()
if(NOT TARGET PkgConfig::HIREDIS)
  add_library(PkgConfig::HIREDIS INTERFACE IMPORTED GLOBAL)
  set_target_properties(PkgConfig::HIREDIS PROPERTIES INTERFACE_LINK_LIBRARIES hiredis)
endif()

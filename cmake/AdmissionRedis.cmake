# The Redis store: target admission_redis (admission::redis), which links hiredis through
# pkg-config (hiredis 0.14 as Debian ships it has no CMake target). Included from the top-level
# CMakeLists.txt when ADMISSION_WITH_REDIS is ON.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

# --- The Lua scripts, embedded into the library --------------------------------------------
# Each script is lua/lib.lua followed by lua/<name>.lua. The SHA1 computed here is the one
# Redis knows the script by (EVALSHA); the store checks it against SCRIPT LOAD at start-up.
# The order must match ScriptId in src/redis/scripts.h.
set(ADMISSION_REDIS_SCRIPTS join status enter leave complete sweep set_policy get_policy stats)
set(_adm_lua_dir ${CMAKE_CURRENT_SOURCE_DIR}/lua)
file(READ ${_adm_lua_dir}/lib.lua _adm_lua_lib)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_adm_lua_dir}/lib.lua)
set(ADMISSION_REDIS_SCRIPT_ENTRIES "")
foreach(_adm_name IN LISTS ADMISSION_REDIS_SCRIPTS)
  set(_adm_file ${_adm_lua_dir}/${_adm_name}.lua)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_adm_file})
  file(READ ${_adm_file} _adm_body)
  # Always quoted: Lua is full of ';', which CMake would otherwise split into list items.
  string(CONCAT _adm_source "${_adm_lua_lib}" "\n" "${_adm_body}")
  string(FIND "${_adm_source}" ")lua\"" _adm_clash)
  if(NOT _adm_clash EQUAL -1)
    message(FATAL_ERROR "${_adm_file}: contains )lua\" which ends the C++ raw string")
  endif()
  string(SHA1 _adm_sha "${_adm_source}")
  string(APPEND ADMISSION_REDIS_SCRIPT_ENTRIES
    "    {\"${_adm_name}\", R\"lua(${_adm_source})lua\", \"${_adm_sha}\"},\n")
endforeach()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/src/redis/scripts.cc.in
  ${CMAKE_CURRENT_BINARY_DIR}/generated/redis_scripts.cc @ONLY)

add_library(admission_redis
  src/redis/connection.cc
  src/redis/connection_pool.cc
  src/redis/policy_codec.cc
  src/redis/redis_store.cc
  src/redis/reply_reader.cc
  src/redis/router.cc
  ${CMAKE_CURRENT_BINARY_DIR}/generated/redis_scripts.cc
)
add_library(admission::redis ALIAS admission_redis)
set_target_properties(admission_redis PROPERTIES EXPORT_NAME redis)
target_include_directories(admission_redis PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_link_libraries(admission_redis
  PUBLIC
    admission::admission
  PRIVATE
    PkgConfig::HIREDIS absl::flat_hash_map absl::strings absl::str_format absl::time)
admission_compile_options(admission_redis)

# Same export set as admission::admission, so find_package(admission) offers admission::redis.
# A static admission_redis needs hiredis at the consumer's link time: the installed config finds
# it with cmake/admission-redis-deps.cmake.
install(TARGETS admission_redis EXPORT admissionTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/cmake/admission-redis-deps.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/admission)
include(${CMAKE_CURRENT_LIST_DIR}/AdmissionRedisTicketing.cmake)

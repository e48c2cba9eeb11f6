# The ticketing parts on Redis (inventory, idempotency, event queue): sources added to
# admission_redis, and their Lua scripts embedded into it. Included at the end of
# cmake/AdmissionRedis.cmake, once the target exists.
#
# Each lua/ticketing/<name>.lua is a standalone script (it does NOT use lua/lib.lua, the
# waiting room's prelude). The SHA1 computed here is the one Redis knows it by (EVALSHA); the
# store checks it against SCRIPT LOAD at start-up. The order must match TicketingScript in
# src/redis/ticketing_scripts.h.
set(ADMISSION_TICKETING_SCRIPTS idempotency inventory queue)
set(_adm_tk_dir ${PROJECT_SOURCE_DIR}/lua/ticketing)
set(ADMISSION_TICKETING_SCRIPT_ENTRIES "")
foreach(_adm_tk_name IN LISTS ADMISSION_TICKETING_SCRIPTS)
  set(_adm_tk_file ${_adm_tk_dir}/${_adm_tk_name}.lua)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_adm_tk_file})
  file(READ ${_adm_tk_file} _adm_tk_source)
  string(FIND "${_adm_tk_source}" ")lua\"" _adm_tk_clash)
  if(NOT _adm_tk_clash EQUAL -1)
    message(FATAL_ERROR "${_adm_tk_file}: contains )lua\" which ends the C++ raw string")
  endif()
  string(SHA1 _adm_tk_sha "${_adm_tk_source}")
  # Always quoted: Lua is full of ';', which CMake would otherwise split into list items.
  string(APPEND ADMISSION_TICKETING_SCRIPT_ENTRIES
    "    {\"${_adm_tk_name}\", R\"lua(${_adm_tk_source})lua\", \"${_adm_tk_sha}\"},\n")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/src/redis/ticketing_scripts.cc.in
  ${CMAKE_CURRENT_BINARY_DIR}/generated/redis_ticketing_scripts.cc @ONLY)

target_sources(admission_redis PRIVATE
  ${PROJECT_SOURCE_DIR}/src/redis/script_runner.cc
  ${PROJECT_SOURCE_DIR}/src/redis/redis_event_queue.cc
  ${PROJECT_SOURCE_DIR}/src/redis/redis_idempotency.cc
  ${PROJECT_SOURCE_DIR}/src/redis/redis_inventory.cc
  ${PROJECT_SOURCE_DIR}/src/redis/redis_ticketing.cc
  ${CMAKE_CURRENT_BINARY_DIR}/generated/redis_ticketing_scripts.cc)

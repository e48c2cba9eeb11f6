# The fields of admission::Policy as the build needs them: read from the table in
# include/admission/room/policy_fields.h, where each entry starts a line with
# `<Kind>Field{"<name>",`. The Lua scripts (src/redis/CMakeLists.txt) and the Python stub
# (bindings/CMakeLists.txt) are generated from it, so that neither repeats the field list.

set(ADMISSION_POLICY_FIELDS_HEADER
  ${CMAKE_CURRENT_LIST_DIR}/../include/admission/room/policy_fields.h)

# admission_policy_fields(<names var> <kinds var>): the field names, and their kinds in
# lower case ("rate", "count", "duration", "tiers", "windows", "bool", "text", "time",
# "method"), in the table's order. Re-runs the configuration when the table changes.
function(admission_policy_fields names_var kinds_var)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${ADMISSION_POLICY_FIELDS_HEADER})
  file(STRINGS ${ADMISSION_POLICY_FIELDS_HEADER} _adm_entries
    REGEX "^ *[A-Z][A-Za-z]*Field{\"[a-z_0-9]+\",")
  set(_adm_names "")
  set(_adm_kinds "")
  foreach(_adm_entry IN LISTS _adm_entries)
    string(REGEX MATCH "^ *([A-Z][A-Za-z]*)Field{\"([a-z_0-9]+)\"," _adm_match "${_adm_entry}")
    string(TOLOWER "${CMAKE_MATCH_1}" _adm_kind)
    list(APPEND _adm_names "${CMAKE_MATCH_2}")
    list(APPEND _adm_kinds "${_adm_kind}")
  endforeach()
  if(NOT _adm_names)
    message(FATAL_ERROR "${ADMISSION_POLICY_FIELDS_HEADER}: no policy fields found")
  endif()
  set(${names_var} "${_adm_names}" PARENT_SCOPE)
  set(${kinds_var} "${_adm_kinds}" PARENT_SCOPE)
endfunction()

# Compiles rules/<kind>/*.rules into the binary (`--rules zarafa-kopano`): the
# files stay the one place to edit, and the binary needs no data directory.
# mailmig_embed_rules(TARGET KIND NAMESPACE) adds to TARGET a source defining
# NAMESPACE::embedded_rule_sets() (declared in <KIND>/embedded_rules.h).
function(mailmig_embed_rules target kind namespace)
  file(GLOB _rules CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/rules/${kind}/*.rules)
  list(SORT _rules)
  set(_entries "")
  foreach(_file ${_rules})
    get_filename_component(_name ${_file} NAME_WE)
    file(READ ${_file} _text)
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_file})
    string(APPEND _entries "      {\"${_name}\", R\"mailmig_rules(${_text})mailmig_rules\"},\n")
  endforeach()
  set(_template ${PROJECT_SOURCE_DIR}/cmake/embedded_rules.cpp.in)
  file(READ ${_template} _source)
  string(REPLACE "@MAILMIG_EMBEDDED_RULE_ENTRIES@" "${_entries}" _source "${_source}")
  string(REPLACE "@KIND@" "${kind}" _source "${_source}")
  string(REPLACE "@NAMESPACE@" "${namespace}" _source "${_source}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_template})
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/generated/${kind}_embedded_rules.cpp)
  # Written only when it changed, so a re-configure does not rebuild it.
  file(WRITE ${_out}.tmp "${_source}")
  configure_file(${_out}.tmp ${_out} COPYONLY)
  target_sources(${target} PRIVATE ${_out})
  install(FILES ${_rules} DESTINATION share/mailmig/rules/${kind})
endfunction()

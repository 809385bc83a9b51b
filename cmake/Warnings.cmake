# Project-wide warning and sanitizer flags, applied through an interface target
# so third-party headers and test frameworks are unaffected.
add_library(mailmig_flags INTERFACE)
target_compile_options(mailmig_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough
  -Wcast-align -Wformat=2
  # designated initializers deliberately leave defaulted members out;
  # -Wnull-dereference is left out: GCC 12 reports false positives in inlined
  # library code (CLI11) at -O2.
  -Wno-missing-field-initializers)
if(MAILMIG_WERROR)
  target_compile_options(mailmig_flags INTERFACE -Werror)
endif()
if(MAILMIG_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(MAILMIG_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
if(MAILMIG_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "MAILMIG_FUZZ needs clang (libFuzzer): use the fuzz preset")
  endif()
  # Everything is instrumented for coverage and checked by ASan/UBSan; only
  # the fuzz executables link libFuzzer's main (tests/fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

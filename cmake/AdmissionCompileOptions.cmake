# Warnings and sanitizers for the project's own targets (never forced on consumers).
function(admission_compile_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(ADMISSION_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(ADMISSION_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ADMISSION_BUILD_FUZZERS needs clang (CXX=clang++-14), not "
                        "${CMAKE_CXX_COMPILER_ID}")
  endif()
  if(NOT ADMISSION_SANITIZER STREQUAL "")
    message(FATAL_ERROR "ADMISSION_BUILD_FUZZERS brings its own sanitizers: leave "
                        "ADMISSION_SANITIZER empty")
  endif()
  # Every object of the tree carries the fuzzer's coverage and ASan+UBSan; only the fuzz targets
  # link libFuzzer itself (-fsanitize=fuzzer, fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

if(ADMISSION_SANITIZER STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
elseif(ADMISSION_SANITIZER STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  # Asio orders handlers across threads with std::atomic_thread_fence, which TSan cannot see
  # (g++ warns, -Wtsan); its scheduler's mutex gives TSan the same ordering without them.
  add_compile_definitions(BOOST_ASIO_DISABLE_FENCED_BLOCK)
elseif(NOT ADMISSION_SANITIZER STREQUAL "")
  message(FATAL_ERROR "ADMISSION_SANITIZER must be empty, 'address' or 'thread'")
endif()

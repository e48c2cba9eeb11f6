# Runs the pytest suite of the Python bindings (ctest test python_bindings).
#   cmake -DPYTHON=/usr/bin/python3 -DTESTS=<dir> -P run_pytest.cmake
execute_process(COMMAND ${PYTHON} -c "import pytest" RESULT_VARIABLE _has_pytest
                OUTPUT_QUIET ERROR_QUIET)
if(NOT _has_pytest EQUAL 0)
  message(FATAL_ERROR
    "python_bindings: pytest is not installed for ${PYTHON} (Debian: apt-get install python3-pytest)")
endif()
execute_process(COMMAND ${PYTHON} -P -m pytest -q -p no:cacheprovider ${TESTS}
                RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "python_bindings: pytest failed (exit status ${_rc})")
endif()

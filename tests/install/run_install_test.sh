#!/usr/bin/env bash
# Installs a configured and built admission tree into a scratch prefix and checks that an
# outside project can find_package(admission) from it, build against it and run.
# Called by ctest (tests/install/CMakeLists.txt); every path comes in as an argument.
#
#   run_install_test.sh --build-dir=DIR --source-dir=DIR --work-dir=DIR [--cmake=CMAKE]
#     [--generator=GEN] [--cxx-compiler=CXX] [--config=CONFIG] [--sanitizer=NAME]
#     [--expect-version=X.Y.Z]
#
# Exit 0 on success, 77 when skipped (sanitizer builds), 1 on failure. Writes only under
# --work-dir (and the install manifest cmake --install leaves in --build-dir); the work dir
# is removed on success and kept on failure for a look.
set -euo pipefail

build_dir="" source_dir="" work_dir="" cmake="cmake" generator="" cxx="" config=""
sanitizer="" expect_version=""
for arg in "$@"; do
  case "${arg}" in
    --build-dir=*) build_dir="${arg#*=}" ;;
    --source-dir=*) source_dir="${arg#*=}" ;;
    --work-dir=*) work_dir="${arg#*=}" ;;
    --cmake=*) cmake="${arg#*=}" ;;
    --generator=*) generator="${arg#*=}" ;;
    --cxx-compiler=*) cxx="${arg#*=}" ;;
    --config=*) config="${arg#*=}" ;;
    --sanitizer=*) sanitizer="${arg#*=}" ;;
    --expect-version=*) expect_version="${arg#*=}" ;;
    *)
      echo "run_install_test.sh: unknown argument: ${arg}" >&2
      exit 1
      ;;
  esac
done

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[[ -n "${build_dir}" && -n "${source_dir}" && -n "${work_dir}" ]] ||
  fail "--build-dir, --source-dir and --work-dir are required"
[[ -f "${build_dir}/cmake_install.cmake" ]] || fail "not a configured build tree: ${build_dir}"
[[ -f "${source_dir}/consumer/CMakeLists.txt" ]] || fail "no consumer project in ${source_dir}"

if [[ -n "${sanitizer}" ]]; then
  echo "SKIP: sanitizer build (ADMISSION_SANITIZER=${sanitizer}); the install is tested in a plain build"
  exit 77
fi

# The work dir must be strictly inside the build tree (this test writes nothing anywhere else)
# and must not contain it (it is removed at the end).
build_real="$(realpath -m -- "${build_dir}")"
work_real="$(realpath -m -- "${work_dir}")"
case "${work_real}/" in
  "${build_real}"/?*/) ;;
  *) fail "work dir ${work_dir} is not inside the build dir ${build_dir}" ;;
esac

prefix="${work_dir}/prefix"
consumer_build="${work_dir}/consumer-build"
rm -rf -- "${prefix}" "${consumer_build}"
mkdir -p "${prefix}" "${consumer_build}"

config_args=()
[[ -n "${config}" ]] && config_args=(--config "${config}")

echo "--- cmake --install ${build_dir} --prefix ${prefix}"
"${cmake}" --install "${build_dir}" --prefix "${prefix}" "${config_args[@]}" ||
  fail "cmake --install failed"

# What a consumer needs must be there.
[[ -f "${prefix}/include/admission/room/waiting_room.h" ]] || fail "room/waiting_room.h not installed"
[[ -f "${prefix}/include/admission/admission.h" ]] || fail "admission.h not installed"
[[ -f "${prefix}/include/admission/version.h" ]] || fail "generated version.h not installed"
config_file="$(find "${prefix}" -name admission-config.cmake -print -quit)"
[[ -n "${config_file}" ]] || fail "admission-config.cmake not installed"
[[ -n "$(find "${prefix}" -name admission-config-version.cmake -print -quit)" ]] ||
  fail "admission-config-version.cmake not installed"
for component in common room ticketing; do
  [[ -n "$(find "${prefix}" -name "libadmission_${component}.*" -print -quit)" ]] ||
    fail "libadmission_${component} not installed"
done
# Installed headers must not point back into the source or build tree.
if grep -rlF -e "${source_dir%/tests/install}" -e "${build_dir}" "${prefix}/include" >/dev/null 2>&1; then
  fail "installed headers mention the source or build tree"
fi

# build_and_run_consumer DIR BINARY EXPECTED_REGEX: configure, build and run one consumer
# project against the prefix.
build_and_run_consumer() {
  local dir="$1" name="$2" expected="$3"
  local build="${consumer_build}/${name}"
  local configure_args=(-S "${source_dir}/${dir}" -B "${build}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
  [[ -n "${generator}" ]] && configure_args+=(-G "${generator}")
  [[ -n "${cxx}" ]] && configure_args+=("-DCMAKE_CXX_COMPILER=${cxx}")
  [[ -n "${config}" ]] && configure_args+=("-DCMAKE_BUILD_TYPE=${config}")

  echo "--- configure ${dir}"
  "${cmake}" "${configure_args[@]}" || fail "configuring ${dir} failed"

  local found_dir
  found_dir="$(sed -n 's/^admission_DIR:PATH=//p' "${build}/CMakeCache.txt")"
  case "$(cd "${found_dir}" 2>/dev/null && pwd -P)/" in
    "$(cd "${prefix}" && pwd -P)"/*) echo "found admission in ${found_dir}" ;;
    *) fail "find_package(admission) found '${found_dir}', not the scratch prefix ${prefix}" ;;
  esac

  echo "--- build ${dir}"
  "${cmake}" --build "${build}" "${config_args[@]}" || fail "building ${dir} failed"

  local binary
  binary="$(find "${build}" -type f -name "${name}" -perm -u+x -print -quit)"
  [[ -n "${binary}" ]] || fail "${name} not found under ${build}"

  echo "--- run ${binary}"
  local output rc
  set +e
  output="$("${binary}" 2>&1)"
  rc=$?
  set -e
  echo "${output}"
  [[ ${rc} -eq 0 ]] || fail "${name} exited with ${rc}"
  grep -qE "${expected}" <<<"${output}" || fail "unexpected output from ${name}"
  if [[ -n "${expect_version}" ]]; then
    grep -qF "admission ${expect_version}:" <<<"${output}" ||
      fail "${name} was built against another version (expected ${expect_version})"
  fi
}

# An embedder of the room, linking admission::admission.
build_and_run_consumer consumer admission-install-consumer \
  '^admission [0-9]+\.[0-9]+\.[0-9]+: joined event install-test as user-1 at position 1$'
# A sale-only embedder, linking admission::ticketing and admission::redis (when installed).
if [[ -n "$(find "${prefix}" -name 'libadmission_redis.*' -print -quit)" ]]; then
  build_and_run_consumer sale_consumer admission-install-sale-consumer \
    '^admission [0-9]+\.[0-9]+\.[0-9]+: held A-1 as user-1; redis: UNAVAILABLE'
fi

rm -rf -- "${work_dir}"
echo "PASS: installed package found, built against and run"

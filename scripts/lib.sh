# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Shared helpers for scripts/run, scripts/test and scripts/check-format. Source it; do not run
# it. Everything here works from any current directory: paths are taken from this file's place.

ADMISSION_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADMISSION_BUILD_ROOT="${ADMISSION_ROOT}/build"
ADMISSION_JOBS="${ADMISSION_JOBS:-2}"

# Debian 12 packages. The run command needs the build set; the test command needs them all.
ADMISSION_BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libabsl-dev libboost-dev libhiredis-dev libcpp-httplib-dev libssl-dev nlohmann-json3-dev
  libjs-chart.js
)
ADMISSION_TEST_PACKAGES=(
  "${ADMISSION_BUILD_PACKAGES[@]}"
  libgtest-dev libgmock-dev libbenchmark-dev
  pybind11-dev python3-dev python3-pytest python3-matplotlib python3-numpy python3-yaml
  redis-server redis-tools clang-format chromium nodejs
  clang-14 libclang-rt-14-dev
)

log() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

section() {
  printf '\n==== %s ====\n' "$*"
}

# Installs the given Debian packages that are not installed yet. Nothing is touched (and no
# `apt-get update` is run) when all of them are already there. ADMISSION_NO_APT=1 skips this.
ensure_packages() {
  local missing=() pkg
  if [[ "${ADMISSION_NO_APT:-0}" == 1 ]]; then
    return 0
  fi
  if ! command -v dpkg-query >/dev/null 2>&1; then
    warn "dpkg-query not found (not Debian?): assuming the dependencies are installed: $*"
    return 0
  fi
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "${pkg}" 2>/dev/null)" != ii* ]]; then
      missing+=("${pkg}")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: ${missing[*]}"
    sudo=(sudo)
  fi
  section "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
    die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" </dev/null || die "apt-get install failed: ${missing[*]}"
}

# The CMake generator: Ninja when it is there, else CMake's default (Unix Makefiles).
cmake_generator() {
  if command -v ninja >/dev/null 2>&1; then
    echo "Ninja"
  else
    echo "Unix Makefiles"
  fi
}

# configure_tree BUILD_DIR [CMAKE_ARGS...]: configures the project into BUILD_DIR. A tree that
# was configured with another generator is wiped first (CMake refuses to switch otherwise).
configure_tree() {
  local dir="$1"
  shift
  local gen
  gen="$(cmake_generator)"
  if [[ -f "${dir}/CMakeCache.txt" ]]; then
    local old
    old="$(sed -n 's/^CMAKE_GENERATOR:INTERNAL=//p' "${dir}/CMakeCache.txt")"
    if [[ -n "${old}" && "${old}" != "${gen}" ]]; then
      log "${dir} was configured with '${old}'; wiping it to use '${gen}'"
      rm -rf -- "${dir}"
    fi
  fi
  local python_args=()
  # Debian's interpreter (the one python3-pytest and pybind11-dev belong to), not whatever
  # python3 comes first on PATH.
  if [[ -x /usr/bin/python3 ]]; then
    python_args=(-DPython_EXECUTABLE=/usr/bin/python3 -DPython3_EXECUTABLE=/usr/bin/python3)
  fi
  cmake -S "${ADMISSION_ROOT}" -B "${dir}" -G "${gen}" --no-warn-unused-cli \
    "${python_args[@]}" "$@"
}

# build_tree BUILD_DIR [cmake --build args...]
build_tree() {
  local dir="$1"
  shift
  cmake --build "${dir}" --parallel "${ADMISSION_JOBS}" "$@"
}

# has_target BUILD_DIR TARGET: whether the configured tree defines TARGET.
has_target() {
  cmake --build "$1" --target help 2>/dev/null |
    grep -Eq "^(\.\.\. )?$2(:| |\$)"
}

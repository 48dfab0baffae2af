# shellcheck shell=bash
# Configure + build shared by scripts/test and scripts/run. Source after common.sh.
#
# PAYNOTIFY_BUILD_DIR   build directory (default <repo>/build)
# PAYNOTIFY_CMAKE_ARGS  extra cmake configure arguments, e.g. "-DPAYNOTIFY_SANITIZE=ON"

PN_BUILD_DIR="${PAYNOTIFY_BUILD_DIR:-$PN_REPO_ROOT/build}"

pn_configure() {
  local -a extra=()
  # shellcheck disable=SC2206
  [[ -n "${PAYNOTIFY_CMAKE_ARGS:-}" ]] && extra=(${PAYNOTIFY_CMAKE_ARGS})
  if [[ -f "$PN_BUILD_DIR/CMakeCache.txt" ]] &&
      ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$PN_BUILD_DIR/CMakeCache.txt"; then
    pn_die "$PN_BUILD_DIR was configured with another generator; remove it (rm -rf $PN_BUILD_DIR) and re-run"
  fi
  pn_say "configuring $PN_BUILD_DIR"
  cmake -S "$PN_REPO_ROOT" -B "$PN_BUILD_DIR" -G Ninja -DPAYNOTIFY_WERROR=ON "${extra[@]}" >/dev/null ||
    pn_die "cmake configure failed"
}

# pn_build [target...]: builds the given targets (all when none), all cores.
pn_build() {
  local -a targets=()
  local t
  for t in "$@"; do targets+=(--target "$t"); done
  pn_say "building${*:+ $*}"
  cmake --build "$PN_BUILD_DIR" -j"$(nproc)" "${targets[@]}" || pn_die "build failed"
}

# True if the configured build defines target $1.
pn_has_target() {
  ninja -C "$PN_BUILD_DIR" -t targets all 2>/dev/null | grep -q "^$1: "
}

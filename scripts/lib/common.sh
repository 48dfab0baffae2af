# shellcheck shell=bash
# Shared shell code for scripts/infra, scripts/test and scripts/run. Source it; do not run it.
# Callers set PN_LOG_PREFIX (e.g. "infra") before using pn_say / pn_die.

PN_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
PN_PACKAGES_FILE="$PN_REPO_ROOT/scripts/packages.txt"

pn_say() { printf '%s: %s\n' "${PN_LOG_PREFIX:-paynotify}" "$*" >&2; }
pn_die() { pn_say "error: $*"; exit 1; }

# Package names from packages.txt, without comments and blank lines.
pn_package_list() {
  sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$PN_PACKAGES_FILE"
}

# Installs every package in packages.txt that dpkg does not report as installed.
# Silent (one dpkg-query call) when all are present. Why a temporary policy-rc.d: the
# packaged postgresql/rabbitmq system services are never used (scripts/infra runs private
# instances on other ports), so installing them must not start them.
pn_ensure_packages() {
  [[ "${PAYNOTIFY_SKIP_PACKAGES:-0}" == 1 ]] && return 0
  local -a wanted missing=()
  mapfile -t wanted < <(pn_package_list)
  local line pkg status
  declare -A installed=()
  while IFS=' ' read -r pkg status; do
    [[ "$status" == installed ]] && installed[$pkg]=1
  done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${wanted[@]}" 2>/dev/null || true)
  for line in "${wanted[@]}"; do
    [[ -n "${installed[$line]:-}" ]] || missing+=("$line")
  done
  ((${#missing[@]} == 0)) && return 0

  pn_say "installing missing packages: ${missing[*]}"
  local -a sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || pn_die "packages missing (${missing[*]}) and not root, no sudo: install them and re-run"
    sudo=(sudo)
  fi
  local created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, created by paynotify scripts/lib/common.sh\nexit 101\n' |
      "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local rc=0
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
  if ((rc == 0)); then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" || rc=$?
  fi
  ((created_policy)) && "${sudo[@]}" rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || pn_die "apt-get failed (exit $rc) installing: ${missing[*]}"
  pn_say "packages installed"
}

#!/usr/bin/env bash
# Installs the Debian packages fastc needs, only those missing. Usage: install-deps.sh [extra pkgs]
set -euo pipefail
pkgs=(build-essential cmake pkg-config libdnnl-dev libopenblas-openmp-dev libcairo2-dev libpng-dev
      libjpeg62-turbo-dev libarchive-dev libcurl4-openssl-dev openmpi-bin libopenmpi-dev "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "fastc: installing missing packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "fastc: please install as root: apt-get install ${missing[*]}" >&2; exit 1; fi
else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

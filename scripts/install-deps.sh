#!/usr/bin/env bash
# Installs the Debian bookworm packages coproc builds with, if any is missing.
# Usage: scripts/install-deps.sh [extra-package ...]
set -euo pipefail
pkgs=(g++ cmake ninja-build pkg-config liburing-dev libboost-dev libgtest-dev libgmock-dev
      libbenchmark-dev python3 erlang-nox elixir "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

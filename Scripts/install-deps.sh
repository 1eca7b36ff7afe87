#!/usr/bin/env bash
# Installs the Debian packages MiniMindV links against, only those that are missing.
set -euo pipefail
packages=(libopenblas-dev liblapacke-dev libdnnl-dev libstb-dev libsnappy-dev libzstd-dev libopenmpi-dev openmpi-bin)
# --browser: what `make serve-browser-check` needs (headless Chromium driven by Selenium).
[ "${1:-}" = "--browser" ] && packages=(chromium chromium-driver python3-selenium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "MiniMindV needs: ${missing[*]} (OpenBLAS, LAPACKE, oneDNN, stb, snappy, zstd, Open MPI). Install them with your package manager." >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"

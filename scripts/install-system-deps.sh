#!/usr/bin/env bash
# System packages the test suite needs beyond Python: headless Chromium for the dashboard's
# browser tests (tests/dashboard/test_browser.py), and an emoji font so page icons render in
# its screenshots. Idempotent and quiet; run as root (CI) or with sudo.
set -euo pipefail

packages=(chromium fonts-noto-color-emoji)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"

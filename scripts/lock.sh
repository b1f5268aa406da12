#!/usr/bin/env bash
# Regenerates requirements.lock: the runtime dependencies of pyproject.toml, resolved in a fresh
# virtualenv with Python 3.11 (the image's), pinned as name==version.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -rf build ./*.egg-info' EXIT
"${PYTHON:-python3}" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --disable-pip-version-check . 2>&1 | grep -v '^WARNING: Location' || true
{
  echo "# The agent's runtime dependencies, pinned (the image installs exactly these: Playwright and its Node driver"
  echo "# stay at one known version). Regenerate after changing pyproject's dependencies: bash scripts/lock.sh"
  "$tmp/venv/bin/pip" freeze --exclude-editable | grep -vi '^munich-termin-automator'
} > requirements.lock
echo "requirements.lock: $(grep -vc '^#' requirements.lock) packages"

#!/usr/bin/env bash
# The test command: installs what it needs, then runs the fast test tiers.
# Extra arguments go to pytest (e.g. scripts/test.sh -m slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check --select F,E9 agent flows replica bench tests  # undefined names, unused imports, syntax
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# The demo: installs what it needs, then runs the agent's demo against the replica.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/mta demo "$@"

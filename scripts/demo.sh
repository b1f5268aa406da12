#!/usr/bin/env bash
# The demo: installs what it needs, then runs the agent's demo against the replica.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Until the agent has its demo (issue "Watcher … mta demo"), this serves the replica.
exec .venv/bin/mta replica "$@"

#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian's chromium and
# Dovecot (IMAP + LMTP, for the mailbox tests; no service is started), a
# virtualenv with the project and its test extras, and the replica's npm
# packages (built into the replica's page when present).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing Debian's chromium"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x /usr/sbin/dovecot ] || [ ! -x /usr/lib/dovecot/imap ] || [ ! -x /usr/lib/dovecot/lmtp ]; then
  echo "setup: installing Debian's dovecot-imapd and dovecot-lmtpd (tests start their own; no service)"
  as_root apt-get update -qq
  # policy-rc.d (exit 101) keeps the package from starting a system-wide Dovecot, if the machine has none
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
    as_root chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq dovecot-imapd dovecot-lmtpd >/dev/null
  if [ -n "$own_policy" ]; then as_root rm -f /usr/sbin/policy-rc.d; fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import agent, replica, playwright, altcha, aioimaplib, pexpect" >/dev/null

if [ -f replica/web/package.json ]; then
  if [ ! -d replica/web/node_modules ] || [ replica/web/package.json -nt replica/web/node_modules ]; then
    echo "setup: installing the replica's npm packages"
    (cd replica/web && npm install --no-audit --no-fund --loglevel=error)
    touch replica/web/node_modules
  fi
  if [ -f replica/web/vite.config.js ] && { [ ! -d replica/web/dist ] || [ -n "$(find replica/web/src replica/web/index.html replica/web/vite.config.js -newer replica/web/dist 2>/dev/null | head -n1)" ]; }; then
    echo "setup: building the replica's booking page"
    (cd replica/web && npx vite build --logLevel error)
    touch replica/web/dist
  fi
fi
echo "setup: ready"

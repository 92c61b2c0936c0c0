#!/usr/bin/env bash
# Install lvs-tui into .venv and run the demo on the simulated fleet (a newcomer's first look).
#
#   bash scripts/demo.sh [demo options, e.g. --scenario single-host-down --speed 5]
#
# On a fresh Debian 12 the system Python needs python3-venv; as root it is installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import ensurepip, venv" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -q >/dev/null && apt-get install -y -q python3-venv >/dev/null
    else
        echo "demo.sh: $PY cannot create a virtual environment: run 'sudo apt install python3-venv'" >&2
        exit 2
    fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
exec .venv/bin/lvs-tui demo "$@"

#!/usr/bin/env bash
# The whole test suite, installing what it needs. One command for a newcomer and for CI:
#
#   bash scripts/test.sh            (as root on Debian 12: also the netns lab, sshd, a real Zabbix)
#
# Without root, tests that need the lab or Zabbix skip with their reason; with CI=true they
# fail instead of skipping, so CI must (and does) run this as root.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ "$(id -u)" = 0 ]; then
    echo "== system packages (fping, traceroute, nftables, sshd, tmux)"
    export DEBIAN_FRONTEND=noninteractive
    need=()
    for pkg in fping traceroute mtr-tiny nftables iproute2 iputils-ping util-linux \
               openssh-server openssh-client tmux python3-venv; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    if [ ${#need[@]} -gt 0 ]; then
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
    fi
fi

echo "== python environment (.venv)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

if [ "$(id -u)" = 0 ]; then
    echo "== real Zabbix 6.0 on loopback"
    bash scripts/zabbix-lab.sh up
    bash scripts/zabbix-lab.sh seed
    eval "$(bash scripts/zabbix-lab.sh env | sed 's/^/export /')"
    trap 'bash scripts/zabbix-lab.sh down >/dev/null 2>&1 || true; .venv/bin/python -m lab down >/dev/null 2>&1 || true' EXIT
fi

echo "== lint"
.venv/bin/ruff check lvs_tui tests benchmarks lab scripts

# The layer contracts of pyproject.toml, following imports transitively; a module a contract
# names that does not exist fails here.
echo "== layers"
.venv/bin/lint-imports

# The type checker over the package (settings in pyproject.toml [tool.mypy]).
echo "== types"
.venv/bin/mypy

if [ "$(id -u)" = 0 ] && [ $# -eq 0 ]; then
    # The Zabbix benchmark against the real server: calls and seconds per refresh cycle
    # versus a naive per-host loop (fails only if a cycle needs more than 6 calls).
    echo "== benchmark: Zabbix refresh"
    .venv/bin/python benchmarks/zabbix_refresh.py
fi

# Last, so that pytest's summary closes the output.
echo "== tests"
.venv/bin/pytest -q -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Set up snnsim on a fresh machine: a virtual environment in .venv with snnsim
# (editable) and what its tests need. Safe to run again (it reinstalls snnsim itself;
# pip skips dependencies that are already satisfied).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
fi
.venv/bin/python -m pip install -q -e ".[test]"
# NEST: the independent oracle of the event engine (tests/test_event_nest.py); its tests skip without it
.venv/bin/python -m pip install -q "nest-simulator>=3.6" || echo "setup: nest-simulator not installed; the NEST oracle tests will skip" >&2

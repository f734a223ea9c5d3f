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
# Norse (an oracle in the tests) declares torchvision, which would pull a 5 GB CUDA torch:
# install it without dependencies (its real ones, nir and nirtorch, come with the test extra).
.venv/bin/python -m pip install -q --no-deps "norse==1.1.0"
# NEST (PyPI nest-simulator, a manylinux wheel): the independent oracle of the event engine
# (tests/test_event_nest.py). Required here so that CI really runs those tests.
.venv/bin/python -m pip install -q "nest-simulator==3.10.0"
# The oracles must really be there: a missing one would turn its tests into skips.
.venv/bin/python -c "import nir, norse.torch, snntorch, nest" >/dev/null

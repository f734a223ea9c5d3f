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
# Lava (lava-nc 0.10.0, Intel's last release; the oracle of the Loihi backend) declares
# Python < 3.11: snnsim.lava_compat makes it import on 3.11 (docs/lava.md). scipy 1.16.3 is
# the version checked with it.
.venv/bin/python -m pip install -q --ignore-requires-python "lava-nc==0.10.0" "scipy==1.16.3"
# lava-dl (its netx loader reads our netx files in the tests) declares torch 2.3 + torchvision:
# install it without dependencies, plus what its netx loader really needs. opencv < 4.12 and
# pillow < 11 keep numpy < 2 (lava-nc needs it).
.venv/bin/python -m pip install -q --no-deps --ignore-requires-python "lava-dl==0.6.0"
.venv/bin/python -m pip install -q "opencv-python-headless>=4.8.1.78,<4.12" "pillow<11" ninja
# NeuroBench (the oracle of our metric definitions, tests/test_neurobench.py) declares torchaudio and
# tonic, which would pull a CUDA torch; its metric modules import without them.
.venv/bin/python -m pip install -q --no-deps "neurobench==2.3.0"
# The oracles must really be there: a missing one would turn its tests into skips.
.venv/bin/python -c "import nir, norse.torch, snntorch, nest, neurobench.benchmarks" >/dev/null
.venv/bin/python -c "from snnsim.lava_compat import import_lava; import_lava('lava.proc.lif.process')
from snnsim.io.netx import import_netx; import_netx()" >/dev/null
# Fill Numba's on-disk cache (kernels/__pycache__) with the clock loop for float32, the default
# arithmetic, so that the first `snnsim demo` or simulate() after setup loads its kernels instead of
# compiling them (20-25 s cold; the cache is keyed by the argument types, not the network's size).
# float64 and the parallel loop (networks of >= 2 x 16384 neurons on several cores) compile on first use.
.venv/bin/python -c "import snnsim; from snnsim.examples.coba import build_coba
snnsim.simulate(build_coba(n_neurons=200, seed=1), 1e-3)" >/dev/null

"""Numba kernels: pure functions over arrays (no classes, no I/O, no knowledge of Network).

Installed as ``snnsim.kernels``. Modules:

- :mod:`.rng`      counter-based random numbers (same stream on every backend)
- :mod:`.neurons`  one step of each neuron family, threshold and reset
- :mod:`.synapses` spike propagation through CSR projections into delay ring buffers
- :mod:`.clock`    the time-driven loop that composes them
"""

import hashlib as _hashlib
from pathlib import Path as _Path


def _drop_stale_cache() -> None:
    """Delete Numba's on-disk cache of these kernels when any kernel file changed.

    Numba checks only a cached function's own file, but ``run_steps`` compiles in
    the kernels of the other modules; an edit to one of those would otherwise be
    silently ignored. A digest of all kernel sources guards the whole cache.
    """
    here = _Path(__file__).parent
    digest = _hashlib.sha1(b"".join(p.read_bytes() for p in sorted(here.glob("*.py")))).hexdigest()
    cache = here / "__pycache__"
    stamp = cache / "snnsim-kernels.sha1"
    try:
        if stamp.read_text() == digest:
            return
        for stale in cache.glob("*.nb[ic]"):
            stale.unlink()
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass  # read-only install: Numba then caches elsewhere, keyed by its own checks


_drop_stale_cache()


def _prefer_workqueue() -> None:
    """Numba's own thread pool (``workqueue``) for every parallel kernel (connectivity, the clock
    engine's parallel loop), unless the user chose a layer (``NUMBA_THREADING_LAYER``). Numba would
    otherwise start OpenMP on the first parallel call, a second OpenMP runtime beside torch's or
    NEST's in one process, and the layer cannot change once started; so it is chosen here, before
    any kernel of this package runs."""
    import os

    if "NUMBA_THREADING_LAYER" not in os.environ:
        import numba
        from numba.np.ufunc import parallel
        if not parallel._is_initialized:
            numba.config.THREADING_LAYER = "workqueue"


_prefer_workqueue()

"""Backends: each turns a ``snnsim.Network`` into a runnable simulation. Installed as ``snnsim.backends``.

Every backend module exposes ``NAME``, a ``Simulator(network, dt=None,
integration=None, dtype="float32")`` class with ``run(duration) -> Results``
and ``state()``, and a ``run(network, duration, **options)`` shortcut.

- :mod:`.cpu`  time-driven engine on Numba kernels (single thread)
- :mod:`.event` event-driven engine, exact spike times in continuous time (single thread)
"""

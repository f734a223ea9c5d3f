"""Engines: each runs a ``snnsim.Network`` behind one interface. Installed as ``snnsim.backends``.

:mod:`.base` holds the contract (capabilities, run options, the one refusal path, the ``Engine``
base class and the registry); every engine is a spoke that imports the description, the plan and
the kernels, never another engine:

- :mod:`.cpu`   time-driven engine on Numba kernels (float32/float64, Loihi fixed point and float)
- :mod:`.event` event-driven engine, exact spike times in continuous time
- :mod:`.torch` the PyTorch forward pass (``TorchNetwork``, the training module), CPU or CUDA
- :mod:`.lava`  Lava processes in Lava's Loihi simulator
"""

"""Make lava-nc 0.10.0 (declared for Python < 3.11) import on Python 3.11+.

lava-nc 0.10.0 is Lava's last release (Intel has archived the project). Its only
incompatibility with Python 3.11 is in :mod:`dataclasses`: since 3.11 a field whose
default is an instance of an unhashable class (for Lava, ``ByteEncoder()`` defaults in
``lava.magma.compiler.var_model``) raises ``ValueError: mutable default ... use
default_factory``. Python 3.10 let such a default through and shared one instance
between all objects; Lava never mutates those defaults.

:func:`install` wraps ``dataclasses._process_class`` so that, for classes defined in
``lava`` modules only, such a default becomes ``field(default_factory=...)`` returning
a deep copy of it (each object gets its own copy: same values as 3.10 gave, no sharing).
Classes of every other package are passed through untouched. The wrap stays installed
because Lava imports process-model modules lazily when it compiles a network.

Every Lava import in snnsim goes through :func:`import_lava` (or :func:`import_lava_dl` for
lava-dl); nothing else needs to know.

lava-dl 0.6.0 has a second obstacle, handled by :func:`import_lava_dl`: ``lava.lib.dl.slayer``'s
``__init__`` imports its object-detection code, which needs ``torchvision``, and PyPI's
torchvision wheels are CUDA builds that do not load against our CPU torch. netx needs only
slayer's neuron helpers, so where torchvision is missing the slayer package is registered
without running its ``__init__``, and its submodules import on their own.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import importlib.util
import sys




def _is_lava_class(cls) -> bool:
    module = getattr(cls, "__module__", "") or ""
    return module == "lava" or module.startswith("lava.")


def _unhashable_default(value) -> bool:
    return not isinstance(value, dataclasses.Field) and type(value).__hash__ is None


def _with_factories(cls):
    """Turn the unhashable class-level defaults of ``cls``'s own annotations into factories."""
    for name in getattr(cls, "__dict__", {}).get("__annotations__", {}):
        value = cls.__dict__.get(name, dataclasses.MISSING)
        if value is not dataclasses.MISSING and _unhashable_default(value):
            setattr(cls, name, dataclasses.field(default_factory=functools.partial(copy.deepcopy, value)))
    return cls


def install() -> None:
    """Install the wrap (idempotent). Needed on Python >= 3.11 only; harmless before."""
    original = dataclasses._process_class
    if getattr(original, "_snnsim_lava_compat", False):
        return

    @functools.wraps(original)
    def process_class(cls, *args, **kwargs):
        if _is_lava_class(cls):
            _with_factories(cls)
        return original(cls, *args, **kwargs)

    process_class._snnsim_lava_compat = True
    dataclasses._process_class = process_class


def installed() -> bool:
    return getattr(dataclasses._process_class, "_snnsim_lava_compat", False)


def _release_fork_context() -> None:
    """Lava calls ``multiprocessing.set_start_method('fork')`` when imported, which raises once
    the default context is fixed; Numba fixes it (to the default, 'fork') when it starts its
    threads for a ``parallel=True`` kernel. Unfix it in that case: lava then sets the same."""
    import multiprocessing
    if "lava.magma.runtime.message_infrastructure.multiprocessing" not in sys.modules \
            and multiprocessing.get_start_method(allow_none=True) == "fork":
        multiprocessing.set_start_method(None, force=True)


def import_lava(module: str):
    """Import ``module`` (a ``lava...`` module name) after installing the compatibility step.

    Raises ``ImportError`` with the install command when lava-nc is not installed.
    """
    install()
    _release_fork_context()
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == "lava" or exc.name.startswith("lava.")) and "lava" not in sys.modules:
            raise ImportError(
                "lava-nc is not installed; install it with scripts/setup.sh or "
                "'pip install --ignore-requires-python lava-nc==0.10.0 scipy==1.16.3' "
                "(see docs/lava.md)") from exc
        raise


def available() -> bool:
    """True if lava-nc is installed (does not import it)."""
    return importlib.util.find_spec("lava") is not None and importlib.util.find_spec("lava.magma") is not None


def import_lava_dl(module: str):
    """Import a ``lava.lib.dl...`` module (lava-dl) after the compatibility step; see the module doc."""
    install()
    name = "lava.lib.dl.slayer"
    if name not in sys.modules and importlib.util.find_spec("torchvision") is None:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            sys.modules[name] = importlib.util.module_from_spec(spec)   # a package, its __init__ not run
    return import_lava(module)

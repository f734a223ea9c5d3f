"""Hardware energy profiles: energies per operation (pJ), each constant cited.

Two kinds: ``snn`` profiles price a spiking run (synaptic operations, neuron updates, spike
routing over a mesh of cores); ``ann`` profiles price the equivalent dense network (MACs, and
memory reads where the profile models data movement). User profiles are TOML or JSON files with
the fields of :class:`EnergyProfile` (docs/metrics.md).
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from dataclasses import dataclass, fields

from snnsim.errors import FileFormatError


@dataclass(frozen=True)
class EnergyProfile:
    """Energies in pJ per operation, and (snn profiles) how neurons are mapped onto cores."""

    name: str
    kind: str                            #: "snn" or "ann"
    citation: str
    syn_op_pj: float = 0.0               #: one synaptic event (a spike delivered through one synapse)
    neuron_update_active_pj: float = 0.0   #: one neuron-step with input or a spike
    neuron_update_inactive_pj: float = 0.0  #: one neuron-step without either
    spike_tile_pj: float = 0.0           #: one spike message delivered to one core (within a tile)
    hop_ew_pj: float = 0.0               #: one east-west hop of a spike message between tiles
    hop_ns_pj: float = 0.0               #: one north-south hop
    neurons_per_core: int = 1024         #: neurons placed on one core, in declaration order
    cores_per_tile: int = 4
    mesh_columns: int = 4                #: tiles per mesh row (tiles fill the mesh row by row)
    mac_pj: float = 0.0                  #: one multiply-accumulate of the dense ANN
    add_pj: float = 0.0                  #: one add (reported; a MAC includes one)
    memory_pj: float = 0.0               #: one weight read per MAC (data movement), 0 if not modelled


#: Davies et al., "Loihi: a neuromorphic manycore processor with on-chip learning", IEEE Micro 38(1),
#: 2018, Table 2: synaptic spike op 23.6 pJ (their minimum), neuron update 81 pJ active / 52 pJ
#: inactive, within-tile spike energy 1.7 pJ, 3.0 pJ east-west / 4.0 pJ north-south per hop.
#: Mapping (our assumption, not from the paper): 1024 neurons per core, 4 cores per tile, tiles
#: on a mesh 4 tiles wide, filled row by row; no chip-to-chip cost.
LOIHI = EnergyProfile(
    name="loihi", kind="snn",
    citation="Davies et al., IEEE Micro 38(1):82-99, 2018, Table 2",
    syn_op_pj=23.6, neuron_update_active_pj=81.0, neuron_update_inactive_pj=52.0,
    spike_tile_pj=1.7, hop_ew_pj=3.0, hop_ns_pj=4.0)

#: Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm at 0.9 V:
#: 32-bit float multiply 3.7 pJ + add 0.9 pJ = 4.6 pJ per MAC; arithmetic only.
CMOS45 = EnergyProfile(name="cmos45", kind="ann", citation="Horowitz, ISSCC 2014, 45 nm",
                       mac_pj=4.6, add_pj=0.9)

#: The same, plus one 32-bit weight read per MAC from a 32 KB SRAM: Horowitz gives 20 pJ per
#: 64-bit read of a 32 KB SRAM; we charge half of it per 32-bit word (our assumption).
CMOS45_SRAM = EnergyProfile(name="cmos45-sram", kind="ann",
                            citation="Horowitz, ISSCC 2014, 45 nm; 32 KB SRAM read 20 pJ / 64 bit",
                            mac_pj=4.6, add_pj=0.9, memory_pj=10.0)

PROFILES = {p.name: p for p in (LOIHI, CMOS45, CMOS45_SRAM)}

_NUMBERS = [f.name for f in fields(EnergyProfile) if f.name.endswith("_pj")]
_COUNTS = ("neurons_per_core", "cores_per_tile", "mesh_columns")


def load_profile(path: str) -> EnergyProfile:
    """A user profile from a ``.toml`` or ``.json`` file; every field is checked, and an error names
    the file and the field."""
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f) if not str(path).endswith(".json") else json.load(f)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as err:
        raise FileFormatError(f"{path}: not a readable TOML/JSON energy profile ({err})") from None
    if not isinstance(raw, dict):
        raise FileFormatError(f"{path}: an energy profile is a table of fields, got {type(raw).__name__}")
    known = {f.name for f in fields(EnergyProfile)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise FileFormatError(f"{path}: unknown field(s) {unknown}; known: {sorted(known)}")
    for key in ("name", "kind", "citation"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise FileFormatError(f"{path}: field {key!r} must be a non-empty string, got {raw.get(key)!r}")
    if raw["kind"] not in ("snn", "ann"):
        raise FileFormatError(f"{path}: field 'kind' must be 'snn' or 'ann', got {raw['kind']!r}")
    for key in _NUMBERS:
        v = raw.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise FileFormatError(f"{path}: field {key!r} must be a finite number >= 0 (pJ), got {v!r}")
    for key in _COUNTS:
        v = raw.get(key, 1)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise FileFormatError(f"{path}: field {key!r} must be a whole number >= 1, got {v!r}")
    need = ("syn_op_pj",) if raw["kind"] == "snn" else ("mac_pj",)
    for key in need:
        if not raw.get(key):
            raise FileFormatError(f"{path}: a {raw['kind']} profile needs {key!r} > 0")
    return EnergyProfile(**raw)


def resolve_profile(name_or_path: str) -> EnergyProfile:
    """A built-in profile by name, or a user profile file."""
    if name_or_path in PROFILES:
        return PROFILES[name_or_path]
    if os.path.exists(name_or_path):
        return load_profile(name_or_path)
    raise FileFormatError(f"energy profile {name_or_path!r}: neither a built-in profile {sorted(PROFILES)} "
                          f"nor an existing file")

"""Metrics and energy: figures computed from a run's counters (``Results.counts``) and the network.

- :mod:`.counts`   per population / projection: updates, spikes, synaptic events, dense MACs,
  sparsity, footprint, throughput (:func:`run_metrics`)
- :mod:`.profiles` hardware energy profiles with cited constants; user profiles from TOML/JSON
- :mod:`.energy`   the estimate of a run on a profile, the equivalent ANN's, and measured energy
  (RAPL) where it can be read, reported beside the estimate and never mixed into it
- :mod:`.neurobench` a trained network stepped the way NeuroBench hooks it, and NeuroBench's
  figures of it (needs ``neurobench``; imported on demand)
"""

from snnsim.metrics.counts import run_metrics
from snnsim.metrics.energy import estimate_energy, measure_rapl
from snnsim.metrics.profiles import PROFILES, EnergyProfile, load_profile

__all__ = ["run_metrics", "estimate_energy", "measure_rapl", "PROFILES", "EnergyProfile", "load_profile"]

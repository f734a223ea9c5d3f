"""Reading and writing snnsim files: HDF5 networks and results, NIR graphs, training checkpoints."""

from snnsim.io.hdf5 import load_network, load_results, save_network, save_results
from snnsim.io.nir import from_nir, read_nir, to_nir, write_nir

__all__ = ["save_network", "load_network", "save_results", "load_results",
           "to_nir", "from_nir", "write_nir", "read_nir"]

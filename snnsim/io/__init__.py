"""Reading and writing snnsim files."""

from snnsim.io.hdf5 import load_network, load_results, save_network, save_results

__all__ = ["save_network", "load_network", "save_results", "load_results"]

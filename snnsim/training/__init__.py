"""Training: encoders, decoders, the shared trainer, built-in tasks, and checks on the engines.

The model itself is ``snnsim.backends.torch.TorchNetwork``; the dynamics come from
``snnsim.core``.
"""

from snnsim.training.classify import Encoding, engine_scores, make_step, torch_scores
from snnsim.training.decoders import DECODERS, max_membrane, mean_membrane, spike_count
from snnsim.training.encoders import ENCODERS, direct_current, latency, poisson_rate
from snnsim.training.tasks import (Dataset, classifier_network, load_digits_task, load_fashion_mnist_task,
                                   read_idx)
from snnsim.training.trainer import History, TrainConfig, Trainer

__all__ = ["Trainer", "TrainConfig", "History", "Encoding", "make_step", "torch_scores", "engine_scores",
           "poisson_rate", "latency", "direct_current", "ENCODERS",
           "spike_count", "max_membrane", "mean_membrane", "DECODERS",
           "Dataset", "classifier_network", "load_digits_task", "load_fashion_mnist_task", "read_idx"]

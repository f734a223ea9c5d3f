"""Capsule Networks with dynamic routing (Sabour et al. 2017) on snnsim's tensor core."""

from snnsim.capsnet.model import CONFIGS, CapsConfig, CapsNet, capsnet_step, shift_images

__all__ = ["CONFIGS", "CapsConfig", "CapsNet", "capsnet_step", "shift_images"]

"""Registry of denoising architectures.

Architectures are imported explicitly (never discovered by scanning files) so
that PyInstaller and TorchScript see every one of them.
"""
from __future__ import annotations

from collections.abc import Callable

from torch import nn

from model.archs.nm_unet import NoiseMapUNet
from model.archs.noise_estimator import NoiseLevelEstimator
from model.archs.seed_cae import SeedCAE

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "seed_cae": SeedCAE,
    "nm_unet": NoiseMapUNet,
    "noise_estimator": NoiseLevelEstimator,
}


def build(name: str, **options: object) -> nn.Module:
    """Instantiate the architecture registered as ``name`` with ``options``."""
    try:
        factory = ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"unknown architecture {name!r}; known: {known}") from None
    return factory(**options)

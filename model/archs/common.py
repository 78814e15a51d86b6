"""Pieces shared by the architectures."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad the bottom/right of an NCHW tensor up to ``multiple``.

    Returns the padded tensor and the original height and width so the caller
    can crop back.
    """
    height, width = x.shape[-2], x.shape[-1]
    pad_h = (multiple - height % multiple) % multiple
    pad_w = (multiple - width % multiple) % multiple
    if pad_h or pad_w:
        # Reflection needs the pad to be smaller than the side; replicate
        # covers tiny inputs.
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, height, width


def grow_into(network: nn.Module, smaller: dict[str, torch.Tensor]) -> None:
    """Load the weights of a narrower network of the same design into ``network``, keeping its function.

    Every weight of ``smaller`` fills the leading corner of the matching (wider
    or equal) weight. What the added channels would pass on to the original
    ones is set to zero, so the grown network computes exactly what the
    smaller one did; the added channels start from their usual random
    initialisation and only begin to matter once training moves those zeros.
    """
    grown = network.state_dict()
    for module_name, module in network.named_modules():
        if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            continue
        prefix = f"{module_name}." if module_name else ""
        weight = grown[prefix + "weight"]
        old = smaller[prefix + "weight"]
        # Conv2d weights are (out, in, kh, kw); ConvTranspose2d weights are (in, out, kh, kw).
        out_axis, in_axis = (1, 0) if isinstance(module, nn.ConvTranspose2d) else (0, 1)
        old_out, old_in = old.shape[out_axis], old.shape[in_axis]
        corner = [slice(None)] * weight.dim()
        corner[out_axis], corner[in_axis] = slice(0, old_out), slice(0, old_in)
        weight[tuple(corner)] = old
        added_inputs = [slice(None)] * weight.dim()
        added_inputs[out_axis], added_inputs[in_axis] = slice(0, old_out), slice(old_in, None)
        weight[tuple(added_inputs)] = 0.0
        if module.bias is not None:
            grown[prefix + "bias"][:old_out] = smaller[prefix + "bias"]
    network.load_state_dict(grown)

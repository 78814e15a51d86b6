from __future__ import annotations

import pytest
import torch

from model.archs import ARCHITECTURES, build


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
@pytest.mark.parametrize("size", [(17, 23), (64, 64), (5, 9)])
def test_any_size_in_same_size_out(name: str, size: tuple[int, int]) -> None:
    network = build(name, **({"widths": (8, 16, 32), "blocks": 1} if name == "nm_unet" else {"width": 4})).eval()
    image = torch.rand(2, 3, *size)
    with torch.no_grad():
        out = network(image, torch.full((2, 1, *size), 0.1))
    assert out.shape == image.shape


def test_multiple_follows_depth() -> None:
    assert build("nm_unet", widths=(8, 16, 32, 64)).multiple == 16
    assert build("seed_cae").multiple == 4


def test_noise_map_changes_the_unet_output() -> None:
    torch.manual_seed(0)
    network = build("nm_unet", widths=(8, 16), blocks=1).eval()
    image = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        low = network(image, torch.full((1, 1, 32, 32), 0.02))
        high = network(image, torch.full((1, 1, 32, 32), 0.2))
    assert not torch.allclose(low, high)


def test_unknown_architecture_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="nm_unet"):
        build("resnet9000")


def test_architectures_script() -> None:
    for name in ARCHITECTURES:
        torch.jit.script(build(name))

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
        if getattr(network, "role", "denoiser") == "estimator":  # one noise level per pixel, never negative
            level = network(image)
            assert level.shape == (2, 1, *size) and (level >= 0).all()
            return
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


def test_flops_per_pixel_counts_the_convolutions() -> None:
    from model.export import flops_per_pixel

    network = build("seed_cae", width=4)
    # conv 3->4 on every pixel, conv 4->8 on 1/4 of them (after one pool), the 4x4
    # transposed conv 8->4 on 1/16 (after two pools), and conv 4->3 on every pixel
    expected = 2 * (3 * 4 * 9 + 4 * 8 * 9 / 4 + 8 * 4 * 16 / 16 + 4 * 3 * 9)
    assert flops_per_pixel(network) == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("wider", [(12, 16), (12, 24)])
def test_a_grown_network_computes_what_the_smaller_one_did(wider: tuple[int, int]) -> None:
    from model.archs.common import grow_into

    torch.manual_seed(0)
    smaller = build("nm_unet", widths=[8, 16], blocks=1).eval()
    grown = build("nm_unet", widths=list(wider), blocks=1).eval()
    grow_into(grown, smaller.state_dict())
    image, noise_map = torch.rand(1, 3, 20, 28), torch.full((1, 1, 20, 28), 0.1)
    with torch.no_grad():
        torch.testing.assert_close(grown(image, noise_map), smaller(image, noise_map))
    assert grown.head.weight[8:].abs().sum() > 0  # the added channels are not dead


def test_fine_tuning_a_wider_network_starts_from_the_narrower_model(tmp_path) -> None:
    from model.export import export
    from model.train import load_initial_weights

    torch.manual_seed(0)
    smaller = build("nm_unet", widths=[8, 16], blocks=1).eval()
    export(smaller, tmp_path / "small.pt", "nm_unet", {"widths": [8, 16], "blocks": 1})
    grown = build("nm_unet", widths=[12, 16], blocks=1).eval()
    load_initial_weights(grown, str(tmp_path / "small.pt"))
    image, noise_map = torch.rand(1, 3, 16, 16), torch.full((1, 1, 16, 16), 0.2)
    with torch.no_grad():
        torch.testing.assert_close(grown(image, noise_map), smaller(image, noise_map))

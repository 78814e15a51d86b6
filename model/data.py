"""Training and test images: locating the shared data and sampling patches."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from denoiser_app.core.batch import is_image_name
from denoiser_app.core.imageio import read_image
from denoiser_app.core.imageio.samples import output_samples

TRAIN_SET = "train/CBSD432"
COLOUR_TEST_SETS = ("Kodak24", "CBSD68", "McMaster")
# The last images of the sorted training list are held out for validation:
# VALIDATION_COUNT of them, but never more than one in VALIDATION_SHARE, so a
# small folder of the user's own photos still leaves most of them to learn from.
VALIDATION_COUNT = 8
VALIDATION_SHARE = 5


def data_root() -> Path:
    """The shared data folder: $DENOISER_DATA, else ../shared/data beside the repo."""
    configured = os.environ.get("DENOISER_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def image_files(folder: Path) -> list[Path]:
    """The photos in ``folder`` that the app would clean, sorted by name."""
    files = sorted(p for p in folder.iterdir() if is_image_name(p) and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images in {folder}")
    return files


def load_rgb8(path: Path) -> np.ndarray:
    """An image as 8-bit RGB, HxWx3: grey repeated to three channels, alpha dropped, 16-bit rounded.

    Read by the app's own reader, so whatever the app cleans can also be learned from.
    """
    return output_samples(read_image(path), 8, keep_alpha=False, colour=True)


def validation_count(image_count: int) -> int:
    """How many of a folder's images are held out for validation."""
    return min(VALIDATION_COUNT, image_count // VALIDATION_SHARE)


def split_training_files(folder: Path) -> tuple[list[Path], list[Path]]:
    files = image_files(folder)
    fit_count = len(files) - validation_count(len(files))
    return files[:fit_count], files[fit_count:]


# Rec. 601 luma weights, used to separate a patch into grey and colour parts.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Augmentation:
    """How training patches are varied beyond random crops, flips and 90-degree rotations.

    The defaults vary nothing more. The field names are those of the
    training config, which holds the same settings.

    The training photos (BSDS) are muted, their channels strongly correlated,
    and small (about 0.15 MP), so dense with detail at the pixel level.
    Photos of saturated subjects (flowers, fabric, stained glass) are not
    muted, and photos from today's cameras are smooth over many pixels; a
    model that only saw BSDS leans on the channel correlation, smears
    saturated colour edges and flattens fine colour texture.

    - ``colour_augment``: every patch gets its channels in a random order, and a
      ``saturate_probability`` share get their saturation raised up to
      ``max_saturation`` times; with ``hue_rotate`` every patch's hues also
      turn by a random angle about the grey axis.
    - ``synthetic_share``: that share of patches come from synthetic
      dead-leaves images (``model.synthetic``) instead of photos.
    - ``zoom_probability``: that share of patches are cut smaller and
      enlarged, up to ``max_zoom`` times.
    """

    colour_augment: bool = False
    saturate_probability: float = 0.3
    max_saturation: float = 2.0
    hue_rotate: bool = False
    synthetic_share: float = 0.0
    zoom_probability: float = 0.0
    max_zoom: float = 2.0


class PatchSampler:
    """Random patches from images held in memory, varied as ``augmentation`` says.

    All randomness comes from the ``numpy.random.Generator`` passed in, so a
    training run that restores that generator's state resumes exactly.
    Variations that are switched off draw nothing from it, so runs saved
    before a variation existed resume and repeat exactly as before.
    """

    def __init__(
        self,
        images: list[np.ndarray],
        patch_size: int,
        augmentation: Augmentation = Augmentation(),
        synthetic: list[np.ndarray] | None = None,
    ) -> None:
        usable = [im for im in images if min(im.shape[:2]) >= patch_size]
        if not usable:
            raise ValueError(f"no training image is at least {patch_size} px on each side")
        self.images = usable
        self.patch_size = patch_size
        self.synthetic = [im for im in synthetic or [] if min(im.shape[:2]) >= patch_size]
        if augmentation.synthetic_share and not self.synthetic:
            raise ValueError(f"a synthetic share needs synthetic images of at least {patch_size} px")
        self.augmentation = augmentation

    def _pick_image(self, rng: np.random.Generator) -> np.ndarray:
        share = self.augmentation.synthetic_share
        if share and rng.random() < share:
            return self.synthetic[rng.integers(len(self.synthetic))]
        return self.images[rng.integers(len(self.images))]

    def sample(self, batch_size: int, rng: np.random.Generator) -> torch.Tensor:
        size = self.patch_size
        augmentation = self.augmentation
        patches = np.empty((batch_size, size, size, 3), dtype=np.uint8)
        for i in range(batch_size):
            image = self._pick_image(rng)
            zoom = augmentation.zoom_probability and rng.random() < augmentation.zoom_probability
            crop = round(size / rng.uniform(1.0, augmentation.max_zoom)) if zoom else size
            top = rng.integers(image.shape[0] - crop + 1)
            left = rng.integers(image.shape[1] - crop + 1)
            patch = image[top : top + crop, left : left + crop]
            if zoom:
                patch = cv2.resize(patch, (size, size), interpolation=cv2.INTER_CUBIC)
            patch = np.rot90(patch, k=int(rng.integers(4)))
            if rng.integers(2):
                patch = patch[:, ::-1]
            patches[i] = patch
        batch = torch.from_numpy(patches).permute(0, 3, 1, 2).float().div_(255.0)
        if augmentation.colour_augment:
            batch = self._augment_colour(batch, rng)
        return batch

    def _augment_colour(self, batch: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        orders = torch.from_numpy(np.stack([rng.permutation(3) for _ in range(len(batch))]))
        batch = batch[torch.arange(len(batch))[:, None], orders]
        augmentation = self.augmentation
        saturate = rng.random(len(batch)) < augmentation.saturate_probability
        gains = np.where(saturate, rng.uniform(1.0, augmentation.max_saturation, len(batch)), 1.0)
        grey = torch.einsum("nchw,c->nhw", batch, torch.from_numpy(LUMA)).unsqueeze(1)
        gain = torch.from_numpy(gains.astype(np.float32)).view(-1, 1, 1, 1)
        chroma = batch - grey
        if augmentation.hue_rotate:
            chroma = _rotate_about_grey(chroma, rng.uniform(0.0, 2 * np.pi, len(batch)))
        return (grey + gain * chroma).clamp_(0.0, 1.0)


def _rotate_about_grey(chroma: torch.Tensor, angles: np.ndarray) -> torch.Tensor:
    """Each patch's colour offsets turned by its angle about the (1, 1, 1) axis (Rodrigues).

    The part of the offset along the axis (a change of brightness) is kept;
    only the hue, the direction around the axis, turns.
    """
    axis = torch.full((3,), 3**-0.5)
    cos = torch.from_numpy(np.cos(angles).astype(np.float32)).view(-1, 1, 1, 1)
    sin = torch.from_numpy(np.sin(angles).astype(np.float32)).view(-1, 1, 1, 1)
    along = torch.einsum("nchw,c->nhw", chroma, axis).unsqueeze(1) * axis.view(1, 3, 1, 1)
    across = chroma - along
    turned = torch.cross(axis.view(1, 3, 1, 1).expand_as(across), across, dim=1)
    return along + cos * across + sin * turned


def centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    top = max(0, (image.shape[0] - size) // 2)
    left = max(0, (image.shape[1] - size) // 2)
    return image[top : top + size, left : left + size]

"""Training and test images: locating the shared data and sampling patches."""
from __future__ import annotations

import os
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


class PatchSampler:
    """Random crops with flips and 90-degree rotations from images held in memory.

    With ``colour_augment`` each patch also gets its channels in a random
    order, and a share of patches get their saturation raised and (with
    ``hue_rotate``) their hues turned by a random angle about the grey axis.
    ``synthetic`` images (see ``model.synthetic``) replace a ``synthetic_share``
    of the patches. A ``zoom_probability`` share of patches are cut smaller
    and enlarged (up to ``max_zoom`` times): the training photos are small
    (about 0.15 MP) and dense with detail at the pixel level, while photos
    from today's cameras, and the McMaster and Kodak crops, are smooth over
    many pixels. The training
    photos (BSDS) are muted and their channels strongly correlated; photos of
    saturated subjects (flowers, fabric, the McMaster set) are not, and a
    model that only saw muted colour leans on that correlation and smears
    colour edges.

    All randomness comes from the ``numpy.random.Generator`` passed in, so a
    training run that restores that generator's state resumes exactly.
    """

    def __init__(
        self,
        images: list[np.ndarray],
        patch_size: int,
        colour_augment: bool = False,
        saturate_probability: float = 0.3,
        max_saturation: float = 2.0,
        hue_rotate: bool = False,
        synthetic: list[np.ndarray] | None = None,
        synthetic_share: float = 0.0,
        zoom_probability: float = 0.0,
        max_zoom: float = 2.0,
    ) -> None:
        usable = [im for im in images if min(im.shape[:2]) >= patch_size]
        if not usable:
            raise ValueError(f"no training image is at least {patch_size} px on each side")
        self.images = usable
        self.patch_size = patch_size
        self.colour_augment = colour_augment
        self.saturate_probability = saturate_probability
        self.max_saturation = max_saturation
        self.hue_rotate = hue_rotate
        self.synthetic = [im for im in synthetic or [] if min(im.shape[:2]) >= patch_size]
        self.synthetic_share = synthetic_share if self.synthetic else 0.0
        self.zoom_probability = zoom_probability
        self.max_zoom = max_zoom

    def _pick_image(self, rng: np.random.Generator) -> np.ndarray:
        # Runs without synthetic images draw nothing extra, so they resume and
        # repeat exactly as before synthetic images existed.
        if self.synthetic_share and rng.random() < self.synthetic_share:
            return self.synthetic[rng.integers(len(self.synthetic))]
        return self.images[rng.integers(len(self.images))]

    def sample(self, batch_size: int, rng: np.random.Generator) -> torch.Tensor:
        size = self.patch_size
        patches = np.empty((batch_size, size, size, 3), dtype=np.uint8)
        for i in range(batch_size):
            image = self._pick_image(rng)
            # Drawn only when zooming is on, so older runs resume exactly.
            zoom = self.zoom_probability and rng.random() < self.zoom_probability
            crop = round(size / rng.uniform(1.0, self.max_zoom)) if zoom else size
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
        if self.colour_augment:
            batch = self._augment_colour(batch, rng)
        return batch

    def _augment_colour(self, batch: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        orders = torch.from_numpy(np.stack([rng.permutation(3) for _ in range(len(batch))]))
        batch = batch[torch.arange(len(batch))[:, None], orders]
        saturate = rng.random(len(batch)) < self.saturate_probability
        gains = np.where(saturate, rng.uniform(1.0, self.max_saturation, len(batch)), 1.0)
        grey = torch.einsum("nchw,c->nhw", batch, torch.from_numpy(LUMA)).unsqueeze(1)
        gain = torch.from_numpy(gains.astype(np.float32)).view(-1, 1, 1, 1)
        chroma = batch - grey
        if self.hue_rotate:
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

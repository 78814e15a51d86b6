"""The model issue's targets, checked against a benchmark report.

Must: the default model beats CBM3D (same run) in every float-protocol cell,
cleans a 12 MP photo end to end at 1.0 MP/s or more, and auto strength loses
at most 0.2 dB against the known sigma on Kodak24 at sigma 15 and 25.
Aim: FFDNet's published Kodak24 figures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MIN_PHOTO_MEGAPIXELS_PER_SECOND = 1.0
MAX_AUTO_LOSS_DB = 0.2
AUTO_LOSS_CELLS = (("Kodak24", "15"), ("Kodak24", "25"))
AIM_METHOD, AIM_SET = "FFDNet", "Kodak24"


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    passed: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return {True: "met", False: "**not met**", None: "not measured"}[self.passed]


def lookup(tree: Any, *keys: str) -> Any:
    """``tree[k1][k2]...``, or None where a level is missing (a partial or quick run)."""
    for key in keys:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _sigma_keys(report: dict[str, Any]) -> list[str]:
    return [f"{sigma:g}" for sigma in report["sigmas"]]


def beats_cbm3d(report: dict[str, Any]) -> list[Check]:
    checks = []
    for set_name in report["sets"]:
        for sigma in _sigma_keys(report):
            ours = lookup(report["results"], "default", "float", set_name, sigma, "psnr")
            cbm3d = lookup(report["results"], "cbm3d", "float", set_name, sigma, "psnr")
            target = f"beat CBM3D, {set_name} σ{sigma}, float"
            if ours is None or cbm3d is None:
                checks.append(Check(target, "–", None))
            else:
                checks.append(Check(target, f"{ours:.2f} vs {cbm3d:.2f} dB ({ours - cbm3d:+.2f})", ours > cbm3d))
    return checks


def photo_speed(report: dict[str, Any]) -> Check:
    speed = lookup(report, "photo_speed", "default", "slowest_megapixels_per_second")
    target = f"12 MP photo end to end ≥ {MIN_PHOTO_MEGAPIXELS_PER_SECOND:g} MP/s (slowest round)"
    if speed is None:
        return Check(target, "–", None)
    return Check(target, f"{speed:.2f} MP/s", speed >= MIN_PHOTO_MEGAPIXELS_PER_SECOND)


def auto_strength(report: dict[str, Any]) -> list[Check]:
    checks = []
    for set_name, sigma in AUTO_LOSS_CELLS:
        loss = lookup(report, "auto_strength", "float", set_name, sigma, "psnr_loss_db")
        target = f"auto strength loses ≤ {MAX_AUTO_LOSS_DB:g} dB, {set_name} σ{sigma}, float"
        checks.append(Check(target, "–" if loss is None else f"{loss:.2f} dB", None if loss is None else loss <= MAX_AUTO_LOSS_DB))
    return checks


def must_checks(report: dict[str, Any]) -> list[Check]:
    return [*beats_cbm3d(report), photo_speed(report), *auto_strength(report)]


def aim_checks(report: dict[str, Any]) -> list[Check]:
    checks = []
    for sigma in _sigma_keys(report):
        ours = lookup(report["results"], "default", "float", AIM_SET, sigma, "psnr")
        paper = lookup(report, "paper_reference", AIM_METHOD, AIM_SET, sigma)
        target = f"reach {AIM_METHOD} (paper), {AIM_SET} σ{sigma}"
        if ours is None or paper is None:
            checks.append(Check(target, "–", None))
        else:
            checks.append(Check(target, f"{ours:.2f} vs {paper:.2f} dB ({ours - paper:+.2f})", ours >= paper))
    return checks

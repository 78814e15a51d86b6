"""The package works the same from a wheel as from the source tree, bundled models included."""
from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_finds_bundled_model(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir), str(ROOT)],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = wheel_dir.glob("denoiser-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    scripts = venv / ("Scripts" if sys.platform == "win32" else "bin")
    python = scripts / "python"
    # Dependencies (torch, numpy, ...) come from the test environment's
    # site-packages; the package itself only from the wheel.
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )
    (site_packages / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    probe = (
        "from denoiser_app.core.engine import load_denoiser\n"
        "from denoiser_app.core.models import list_models\n"
        "import numpy as np\n"
        "d = load_denoiser(None, 'cpu')\n"
        "print(d.path)\n"
        "print(d.denoise(np.full((40, 40, 3), 0.5, np.float32), 10.0).pixels.shape)\n"
        "print(sorted(m.name for m in list_models()))\n"
        "from denoiser_app.core.models import resources_dir\n"
        "print(sorted(p.name for p in (resources_dir() / 'icons').iterdir()))\n"
    )
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    model_path, shape, names, icons = result.stdout.strip().splitlines()
    assert Path(model_path).is_relative_to(site_packages), model_path
    assert shape == "(40, 40, 3)"
    assert "seed-cae" in names
    assert icons == "['app.icns', 'app.ico', 'app.png']"
    cli = subprocess.run([str(scripts / "denoiser-cli"), "--list-models"], capture_output=True, text=True)
    assert cli.returncode == 0 and "seed-cae" in cli.stdout


def _spec_assignments() -> dict[str, object]:
    """The spec's top-level constant assignments (it is run by PyInstaller, not importable)."""
    import ast

    tree = ast.parse((ROOT / "packaging" / "denoiser.spec").read_text(encoding="utf-8"))
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return values


def test_the_frozen_app_ships_the_model_sources_torchscript_reads() -> None:
    """Saving a fine-tuned model scripts the network, which needs its .py source in the bundle."""
    import inspect

    from model import archs

    spec_text = (ROOT / "packaging" / "denoiser.spec").read_text(encoding="utf-8")
    assert _spec_assignments()["SOURCE_PACKAGES"] == {"model": "pyz+py"}
    assert "module_collection_mode=SOURCE_PACKAGES" in spec_text
    # Every architecture TorchScript compiles lives in that package.
    for factory in archs.ARCHITECTURES.values():
        assert factory.__module__.startswith("model."), factory
        assert Path(inspect.getsourcefile(factory)).is_relative_to(ROOT / "model")


def test_the_build_workflow_is_where_github_runs_it() -> None:
    workflows = ROOT / ".github" / "workflows"
    assert (workflows / "build.yml").is_file()
    assert not (ROOT / "packaging" / "ci" / "build.yml").exists()


def test_the_licence_notices_name_every_bundled_package_and_carry_their_files(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        from licenses import BUNDLED, write_notices
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    assert write_notices(tmp_path / "licenses") == list(BUNDLED)
    summary = (tmp_path / "licenses" / "THIRD-PARTY.md").read_text()
    for name in ("torch", "PySide6-Essentials", "rawpy", "pillow-heif"):
        assert f"| {name} |" in summary
    assert "LGPL" in summary and "x265" in summary
    assert list((tmp_path / "licenses" / "rawpy").rglob("LICENSE.LibRaw"))  # LibRaw's own terms travel with it
    assert "licence_datas()" in (ROOT / "packaging" / "denoiser.spec").read_text()

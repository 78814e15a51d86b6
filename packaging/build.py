"""Build Denoiser's frozen app and installer for the current platform.

    python packaging/build.py [--clean] [--no-installer | --installer-only | --report-sizes]

1. PyInstaller with packaging/denoiser.spec   -> dist/Denoiser/ (+ dist/Denoiser.app on macOS)
2. The installer for this platform            -> dist/installer/
   Windows: Inno Setup (iscc)   macOS: .dmg via build_dmg.sh   Linux: .tar.xz

Only builds: install the project with its ``package`` extra first.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
WORK = ROOT / "build"
INSTALLERS = DIST / "installer"
ONEDIR = DIST / "Denoiser"

# Where the Inno Setup 6 installer (and Chocolatey) put iscc when it is not on PATH.
ISCC_DEFAULT = Path(os.environ.get("ProgramFiles(x86)", r"C:\Program Files (x86)")) / "Inno Setup 6" / "ISCC.exe"


def read_version() -> str:
    text = (ROOT / "denoiser_app" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.MULTILINE)
    if not match:
        sys.exit("build.py: no __version__ in denoiser_app/__init__.py")
    return match.group(1)


def run(cmd: list[str | Path]) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x64", "x86_64": "x64", "aarch64": "arm64"}.get(machine, machine)


def pyinstaller(clean: bool) -> None:
    clean_flag = ["--clean"] if clean else []
    run([sys.executable, "-m", "PyInstaller", "--noconfirm", *clean_flag,
         "--distpath", DIST, "--workpath", WORK, PACKAGING / "denoiser.spec"])


def windows_installer(version: str) -> Path:
    iscc = os.environ.get("ISCC") or shutil.which("iscc") or (str(ISCC_DEFAULT) if ISCC_DEFAULT.is_file() else None)
    if not iscc:
        sys.exit("build.py: Inno Setup's iscc not found; install Inno Setup 6 or set ISCC to its path")
    name = f"Denoiser-{version}-windows-{arch()}-setup"
    run([iscc, f"/DAppVersion={version}", f"/DDistDir={ONEDIR}", f"/O{INSTALLERS}", f"/F{name}",
         PACKAGING / "windows" / "denoiser.iss"])
    return INSTALLERS / f"{name}.exe"


def macos_installer(version: str) -> Path:
    dmg = INSTALLERS / f"Denoiser-{version}-macos-{arch()}.dmg"
    run(["bash", PACKAGING / "macos" / "build_dmg.sh", DIST / "Denoiser.app", dmg])
    return dmg


def linux_archive(version: str) -> Path:
    archive = INSTALLERS / f"Denoiser-{version}-linux-{arch()}.tar.xz"
    print(f"+ tar {archive}", flush=True)
    with tarfile.open(archive, "w:xz", preset=6) as tar:
        tar.add(ONEDIR, arcname=f"Denoiser-{version}")
    return archive


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def report_sizes() -> str:
    """Unpacked size of the frozen app and the size of each installer, as a markdown table."""
    frozen = DIST / "Denoiser.app" if sys.platform == "darwin" else ONEDIR
    rows = [f"| frozen app ({frozen.name}, unpacked) | {folder_size(frozen) / 1e6:,.0f} MB |"] if frozen.exists() else []
    for installer in sorted(INSTALLERS.glob("*")) if INSTALLERS.is_dir() else []:
        rows.append(f"| {installer.name} | {installer.stat().st_size / 1e6:,.0f} MB |")
    return "\n".join([f"Sizes on {platform.system()} {arch()}:", "", "| what | size |", "|---|---:|", *rows])


def build_installer(version: str) -> Path:
    INSTALLERS.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        result = windows_installer(version)
    elif sys.platform == "darwin":
        result = macos_installer(version)
    else:
        result = linux_archive(version)
    if not result.is_file():
        sys.exit(f"build.py: expected {result} but it was not made")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    stage = parser.add_mutually_exclusive_group()
    stage.add_argument("--no-installer", action="store_true", help="stop after PyInstaller")
    stage.add_argument("--installer-only", action="store_true", help="package an app frozen before (after signing it)")
    stage.add_argument("--report-sizes", action="store_true", help="print the sizes of what was built, and stop")
    args = parser.parse_args()

    if args.report_sizes:
        print(report_sizes())
        return 0
    version = read_version()
    if not args.installer_only:
        pyinstaller(args.clean)
        print(f"Frozen app: {ONEDIR}")
    if args.no_installer:
        return 0
    result = build_installer(version)
    print(f"Installer: {result}")
    # Lets a GitHub Actions step refer to the file as steps.<id>.outputs.installer.
    if "GITHUB_OUTPUT" in os.environ:
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(f"installer={result}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

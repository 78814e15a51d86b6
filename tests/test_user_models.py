"""The user's own models: import, rename, delete and export."""
from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest
import torch
from torch import nn

from denoiser_app.core.modelfile import ModelFileError, save_model_file
from denoiser_app.core.models import DEFAULT_MODEL, list_models, user_models_dir
from denoiser_app.core.user_models import delete_model, export_model, import_model, rename_model
from tests.conftest import rewrite_metadata


@pytest.fixture(autouse=True)
def user_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *args, **kwargs: str(tmp_path / "user-data"))
    return tmp_path / "user-data"


def user_names() -> list[str]:
    return [entry.name for entry in list_models() if not entry.bundled]


class Broken(nn.Module):
    multiple: int = 1
    takes_noise_map: bool = True

    def forward(self, image: torch.Tensor, noise_map: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this network was exported half-finished")


def test_an_imported_model_is_copied_in_and_listed_as_the_users(tiny_model: Path) -> None:
    path = import_model(tiny_model, "Night sky")
    assert path == user_models_dir() / "Night sky.pt" and path.read_bytes() == tiny_model.read_bytes()
    assert user_names() == ["Night sky"]
    assert import_model(tiny_model) .stem == "tiny", "the file's own name by default"


def test_files_that_are_not_usable_models_are_refused_and_nothing_is_copied(tiny_model: Path, tmp_path: Path) -> None:
    junk = tmp_path / "notes.pt"
    junk.write_bytes(b"not a model at all")
    future = rewrite_metadata(tiny_model, tmp_path / "future.pt", {"format_version": 99})
    for source, reason in ((junk, "notes.pt"), (future, "format version 99")):
        with pytest.raises(ModelFileError, match=reason):
            import_model(source)
    assert not user_models_dir().exists() or not any(user_models_dir().iterdir())


def test_a_model_whose_test_run_fails_is_refused(tmp_path: Path) -> None:
    metadata = {"architecture": "broken", "multiple": 1, "takes_noise_map": True, "noise_range": [0, 55]}
    save_model_file(torch.jit.script(Broken()), tmp_path / "broken.pt", metadata)
    with pytest.raises(ModelFileError, match="fails on a test image: .*half-finished"):
        import_model(tmp_path / "broken.pt")
    assert user_names() == []


def test_import_refuses_built_in_and_taken_names(tiny_model: Path) -> None:
    with pytest.raises(ModelFileError, match="built-in"):
        import_model(tiny_model, DEFAULT_MODEL)
    import_model(tiny_model, "Mine")
    with pytest.raises(ModelFileError, match="already have a model"):
        import_model(tiny_model, "Mine")


def test_rename_and_delete_change_only_the_users_own_models(tiny_model: Path) -> None:
    import_model(tiny_model, "Mine")
    import_model(tiny_model, "Other")
    assert rename_model("Mine", "Wedding 2026").stem == "Wedding 2026"
    assert sorted(user_names()) == ["Other", "Wedding 2026"]
    with pytest.raises(ModelFileError, match="already have"):
        rename_model("Other", "Wedding 2026")
    assert rename_model("Other", "OTHER").stem == "OTHER", "a change of case is a rename, not a clash"
    with pytest.raises(ModelFileError, match="built in"):
        rename_model(DEFAULT_MODEL, "mine too")
    with pytest.raises(ModelFileError, match="built in"):
        delete_model(DEFAULT_MODEL)
    delete_model("Wedding 2026")
    assert user_names() == ["OTHER"]
    with pytest.raises(ModelFileError, match="no model named"):
        delete_model("Wedding 2026")


def test_export_copies_any_model_to_a_file_or_a_folder(tiny_model: Path, tmp_path: Path) -> None:
    import_model(tiny_model, "Mine")
    as_file = export_model("Mine", tmp_path / "for Anna.pt")
    assert as_file == tmp_path / "for Anna.pt" and as_file.read_bytes() == tiny_model.read_bytes()
    (tmp_path / "shared").mkdir()
    into_folder = export_model("Mine", tmp_path / "shared")
    assert into_folder == tmp_path / "shared" / "Mine.pt" and into_folder.read_bytes() == tiny_model.read_bytes()
    bundled = export_model(DEFAULT_MODEL, tmp_path / "default copy.pt")
    assert bundled.read_bytes() == next(e.path for e in list_models() if e.name == DEFAULT_MODEL).read_bytes()

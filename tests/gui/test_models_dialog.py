"""Tools > Manage Models: import, rename, delete and export, and the window's model list following."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import platformdirs
import pytest
from PySide6.QtWidgets import QMessageBox

from denoiser_app.core.models import DEFAULT_MODEL, list_models, user_models_dir
from denoiser_app.gui.main_window import MainWindow
from denoiser_app.gui.models_dialog import ModelsDialog


@pytest.fixture(autouse=True)
def user_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *args, **kwargs: str(tmp_path / "user-data"))


def open_dialog(window: MainWindow, answers: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> ModelsDialog:
    """The dialog from the Tools menu, its questions answered from ``answers``."""
    for question in ("ask_import_path", "ask_export_path", "ask_name", "confirm_delete"):
        monkeypatch.setattr(ModelsDialog, question, lambda self, *args, q=question: answers[q](*args) if callable(answers[q]) else answers[q])
    window.models_action.trigger()
    return window.findChild(ModelsDialog)


def test_import_rename_and_delete_update_the_windows_model_list_at_once(
    make_window: Callable[..., MainWindow], tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(model_path=None)
    answers: dict[str, object] = {"ask_import_path": tiny_model, "ask_name": "Street at night", "confirm_delete": True}
    dialog = open_dialog(window, answers, monkeypatch)
    assert window.models_action in window._menus["&Tools"].actions()
    assert not dialog.rename_button.isEnabled(), "a built-in model is selected first: it cannot be renamed"

    dialog.import_button.click()
    assert dialog.selected_name() == "tiny" and dialog.rename_button.isEnabled()
    assert window.options.model.findData("tiny") >= 0
    assert "tiny" in dialog.card.toMarkdown() and "Saved" in dialog.card.toMarkdown()
    window.options.select_model("tiny")

    dialog.rename_button.click()
    assert window.options.model.findData("tiny") < 0
    assert window.options.model_reference() == "Street at night", "the window follows the rename"

    dialog.delete_button.click()
    assert [e.name for e in list_models() if not e.bundled] == []
    assert window.options.model_reference() == DEFAULT_MODEL, "deleting the chosen model falls back to the default"
    assert "gone" in window.statusBar().currentMessage()


def test_an_import_under_a_taken_name_asks_for_another(
    make_window: Callable[..., MainWindow], tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = iter(["Second"])
    asked: list[str] = []

    def ask_name(title: str, current: str) -> str:
        asked.append(title)
        return next(names)

    dialog = open_dialog(make_window(), {"ask_import_path": tiny_model, "ask_name": ask_name}, monkeypatch)
    dialog.import_button.click()
    dialog.import_button.click()
    assert len(asked) == 1 and "already have a model named" in asked[0]
    assert sorted(p.stem for p in user_models_dir().glob("*.pt")) == ["Second", "tiny"]


def test_a_file_that_is_not_a_model_is_refused_with_a_message(
    make_window: Callable[..., MainWindow], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "holiday.pt"
    junk.write_bytes(b"\x89PNG not a model")
    dialog = open_dialog(make_window(), {"ask_import_path": junk}, monkeypatch)
    dialog.import_button.click()
    boxes = [box for box in dialog.findChildren(QMessageBox) if box.isVisible()]
    assert boxes and "cannot be used as a model" in boxes[0].text() and "holiday.pt" in boxes[0].text()
    assert not user_models_dir().exists() or not any(user_models_dir().iterdir())


def test_a_built_in_model_can_be_exported_but_not_changed(
    make_window: Callable[..., MainWindow], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "standard copy.pt"
    dialog = open_dialog(make_window(), {"ask_export_path": target}, monkeypatch)
    dialog.refresh(DEFAULT_MODEL)
    assert not dialog.rename_button.isEnabled() and not dialog.delete_button.isEnabled()
    dialog.export_button.click()
    assert target.read_bytes() == next(e.path for e in list_models() if e.name == DEFAULT_MODEL).read_bytes()

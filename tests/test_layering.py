"""The arrows of ../shared/ARCHITECTURE.md, checked on the source (no module is imported here).

    pretrained/ --load--> rnnlm <--import-- train/
                            ^
                            | import
                        playground/

rnnlm/ never imports streamlit, playground or train; train/ never imports playground; a page
(playground/views/<page>/) imports its own folder, widgets/ and the playground's mechanism,
never another page; nothing outside playground/app.py names a page.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "playground" / "views"  # one folder per page (not "pages": Streamlit reads a pages/ folder itself)


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def offending(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in imported_modules(path) if m.split(".")[0] in forbidden or m in forbidden
                  or any(m.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("path", sources("rnnlm"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_knows_no_streamlit_playground_or_trainer_cli(path):
    assert offending(path, ("streamlit", "playground", "train")) == []


@pytest.mark.parametrize("path", sources("train"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_trainer_cli_never_imports_the_playground(path):
    assert offending(path, ("streamlit", "playground")) == []


def page_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if parts[:2] == ["playground", "views"] and len(parts) > 2 else None


@pytest.mark.parametrize("path", sources("playground/views"), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_page_imports_no_other_page(path):
    own = path.relative_to(PAGES).parts[0]
    others = {page_of(m) for m in imported_modules(path)} - {None, own}
    assert others == set(), f"{path.name} imports page(s) {sorted(others)}"


def shared_playground_files() -> list[Path]:
    return [p for p in sources("playground") if PAGES not in p.parents and p.name != "app.py"]


@pytest.mark.parametrize("path", shared_playground_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_playground_code_imports_no_page(path):
    pages = {page_of(m) for m in imported_modules(path)} - {None}
    assert pages == set(), f"{path.name} imports page(s) {sorted(pages)}: move what both need to widgets/"


def test_the_checks_see_a_violation(tmp_path, monkeypatch):
    """The checks above would fail on a wrong arrow (not just pass on an empty tree)."""
    fake = tmp_path / "rnnlm" / "bad.py"
    fake.parent.mkdir()
    fake.write_text("import streamlit as st\nfrom ..playground.views.score import score\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert {"streamlit", "playground.views.score.score"} <= set(offending(fake, ("streamlit", "playground")))
    page = tmp_path / "playground" / "views" / "inspect" / "page.py"
    page.parent.mkdir(parents=True)
    page.write_text("from playground.views.score.surprisal import legend_html\nfrom . import traces\n")
    assert {page_of(m) for m in imported_modules(page)} - {None} == {"score", "inspect"}

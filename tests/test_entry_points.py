"""Every command-line tool is a ``[project.scripts]`` entry point beside its ``python -m`` form, and its ``--help``
shows an example. Checked against pyproject.toml and the modules (the installed scripts may predate the table)."""

from __future__ import annotations

import importlib
import tomllib

import pytest

from tests.conftest import REPO

SCRIPTS: dict[str, str] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]


def _python_m_modules() -> set[str]:
    """The package modules that run as ``python -m``: those with a ``__main__`` block."""
    found = set()
    for package in ("data_platform", "trainer"):
        for path in (REPO / package).rglob("*.py"):
            if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"):
                found.add(".".join(path.relative_to(REPO).with_suffix("").parts))
    return found


def test_every_python_m_tool_has_an_entry_point_with_the_prefix():
    assert {target.partition(":")[0] for target in SCRIPTS.values()} == _python_m_modules()
    assert all(name.startswith("dp-") for name in SCRIPTS)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_help_exits_0_and_shows_an_example(name, capsys):
    module, _, attr = SCRIPTS[name].partition(":")
    main = getattr(importlib.import_module(module), attr)
    assert callable(main)
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"\n  {name} " in out  # an example line invoking the entry point itself

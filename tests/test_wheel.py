"""The built wheel carries the grammar and the standard library, and works installed.

Builds the wheel, installs it into a fresh virtual environment (without system site
packages, so the editable install of the checkout is out of sight), and runs the
installed `rulelang` from a directory outside the repository.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, RETAIL

pytestmark = pytest.mark.slow

STDLIB = sorted(p.name for p in (REPO / "stdlib_rules").glob("*.rule"))


class Installed:
    def __init__(self, wheel: Path, venv: Path, work: Path) -> None:
        self.wheel, self.venv, self.work = wheel, venv, work
        self.bin = venv / ("Scripts" if os.name == "nt" else "bin")

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """A command of the venv, from outside the repository, seeing nothing of it."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            text=True,
            cwd=self.work,
            env=env,
            timeout=600,
            check=False,
        )


def checked(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args} failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    dist, venv, work = root / "dist", root / "venv", root / "work"
    work.mkdir()
    checked(
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    )
    [wheel] = dist.glob("rulelang-*.whl")
    checked(
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    )
    setup = Installed(wheel, venv, work)
    checked(setup.run(setup.bin / "python", "-m", "pip", "install", "--quiet", wheel))
    return setup


def test_the_wheel_holds_the_grammar_and_the_stdlib(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    assert "rulelang/grammar/rulelang.lark" in names
    assert "rulelang/stdlib_rules/pricing.rule" in names
    assert {f"rulelang/stdlib_rules/{name}" for name in STDLIB} <= names
    assert not any(
        n.startswith(("tests/", "examples/", "grammar/", "stdlib_rules/")) for n in names
    )


def test_the_fresh_venv_does_not_see_the_checkout(installed: Installed) -> None:
    config = (installed.venv / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in config
    done = checked(
        installed.run(
            installed.bin / "python",
            "-c",
            "import rulelang, rulelang.paths as p; print(rulelang.__file__);"
            " print(p.grammar_file()); print(p.stdlib_dir())",
        )
    )
    package, grammar, stdlib = (Path(line) for line in done.stdout.splitlines())
    site = installed.venv.resolve()
    for path in (package, grammar, stdlib):
        assert path.resolve().is_relative_to(site), path
        assert not path.resolve().is_relative_to(REPO)
    assert grammar.is_file() and (stdlib / "pricing.rule").is_file()


def test_installed_check(installed: Installed) -> None:
    alone = installed.work / "policy.rule"  # no models.yaml beside it: the text is checked
    alone.write_text(RETAIL.read_text(encoding="utf-8"), encoding="utf-8")
    done = checked(installed.run(installed.bin / "rulelang", "check", alone))
    assert done.stdout.startswith(f"ok: {alone}: 6 rules")


def test_installed_check_binds_and_names_the_missing_extra(installed: Installed) -> None:
    done = installed.run(installed.bin / "rulelang", "check", RETAIL)
    assert done.returncode == 1 and "rulelang[ml]" in done.stderr


def test_the_wheel_requires_what_rulelang_test_imports(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        lines = wheel.read(metadata).decode().splitlines()
    core = {
        re.split(r"[\s\[<>=;]", line.split(":", 1)[1].strip())[0].lower()
        for line in lines
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    assert {"lark", "pydantic", "pyyaml"} <= core
    assert "hypothesis" in core


def test_installed_test_loads_the_installed_stdlib(installed: Installed) -> None:
    shutil.copy(REPO / "stdlib_rules" / "tests" / "pricing_test.rule", installed.work)
    done = checked(installed.run(installed.bin / "rulelang", "test", "pricing_test.rule"))
    assert done.stdout.startswith("pricing_test.rule: ")
    assert " 0 failed" in done.stdout


def test_errors_inside_templates_name_the_installed_stdlib_file(installed: Installed) -> None:
    policy = installed.work / "bad.rule"
    policy.write_text(
        'policy p\n  version "1"\nend\n\nfacts item\n  cost: money\nend\n\n'
        'decision\n  rank: number = 1.0\nend\n\nimport "pricing"\n'
        "use margin_floor(rank, item.cost, 10%) as floor\n"
    )
    done = installed.run(installed.bin / "rulelang", "check", "bad.rule")
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    path = Path(first.split(":")[0])
    assert path.name == "pricing.rule" and path.resolve().is_relative_to(installed.venv.resolve())
    assert "Traceback" not in done.stderr

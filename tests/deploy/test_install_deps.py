"""``python -m graphport.install_deps``: the dependencies of a langgraph.json, sorted as the
official CLI sorts them, installed by one pip command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graphport.errors import ConfigError
from graphport.install_deps import main, plan_install


def write_config(folder: Path, dependencies: list[str]) -> Path:
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"dependencies": dependencies, "graphs": {}}))
    return config


def make_app(root: Path) -> Path:
    """An app whose dependencies are of every kind: itself (a package), a package with a
    setup.py, a folder with a requirements.txt, a bare folder, and PyPI requirements."""
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1"\n')
    (root / "pkg").mkdir()
    (root / "pkg" / "setup.py").write_text("")
    (root / "plain").mkdir()
    (root / "plain" / "requirements.txt").write_text("httpx\n")
    (root / "bare").mkdir()
    (root / "bare" / "tools.py").write_text("")
    deps = [".", "./pkg", "./plain", "./bare", "langchain-openai", "httpx>=0.27"]
    return write_config(root, deps)


def test_dependencies_are_sorted_as_the_official_cli_sorts_them(tmp_path: Path) -> None:
    plan = plan_install(make_app(tmp_path))
    assert plan.packages == ["langchain-openai", "httpx>=0.27"]
    assert plan.requirement_files == [tmp_path / "plain" / "requirements.txt"]
    assert plan.local_packages == [tmp_path, tmp_path / "pkg"]
    assert plan.pip_args() == [
        "langchain-openai",
        "httpx>=0.27",
        "-r",
        str(tmp_path / "plain" / "requirements.txt"),
        str(tmp_path),
        str(tmp_path / "pkg"),
    ]
    # an extra requirement is added once: a folder already listed is not given twice
    assert plan.pip_args([str(tmp_path / "pkg" / ".."), "graphport"])[-1:] == ["graphport"]


def test_a_missing_local_dependency_or_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'./gone' not found at .*/gone$"):
        plan_install(write_config(tmp_path, ["./gone"]))
    (tmp_path / "file.py").write_text("")
    with pytest.raises(ConfigError, match=r"'./file.py' \(.*\) is not a folder"):
        plan_install(write_config(tmp_path, ["./file.py"]))


def test_dry_run_prints_the_pip_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_app(tmp_path)
    assert main(["--config", str(config), "--dry-run", str(tmp_path), "uvicorn"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == (
        f"{sys.executable} -m pip install langchain-openai 'httpx>=0.27' "
        f"-r {tmp_path}/plain/requirements.txt {tmp_path} {tmp_path}/pkg uvicorn"
    )


def test_nothing_to_install_and_a_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bare").mkdir()
    assert main(["--config", str(write_config(tmp_path, ["./bare"]))]) == 0
    assert capsys.readouterr().out == "graphport: no dependencies to install\n"
    assert main(["--config", str(tmp_path / "nope.json")]) == 2
    assert "nope.json: file not found" in capsys.readouterr().err


def _wheel(folder: Path, name: str) -> Path:
    """A pure-Python wheel pip installs with no index and no build."""
    path = folder / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    files = {
        f"{name}.py": "ANSWER = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{f},,\n" for f in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def test_installs_a_folder_requirements_with_paths_relative_to_the_config(
    tmp_path: Path,
) -> None:
    (tmp_path / "wheels").mkdir()
    _wheel(tmp_path / "wheels", "gp_probe")
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "requirements.txt").write_text("./wheels/gp_probe-1.0-py3-none-any.whl\n")
    config = write_config(tmp_path, ["./agent"])
    target = tmp_path / "site"
    command = [sys.executable, "-m", "graphport.install_deps", "--config", str(config)]
    pip_options = ["--no-index", "--quiet", "--target", str(target)]
    # run as the Dockerfile runs it: a command, from another working directory
    done = subprocess.run(
        [*command, "--", *pip_options],
        cwd=Path(sys.prefix),
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{sys.executable} -m pip install -r {tmp_path}/agent/")
    assert (target / "gp_probe.py").read_text() == "ANSWER = 42\n"

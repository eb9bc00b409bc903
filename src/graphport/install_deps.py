"""Install the ``dependencies`` of a langgraph.json, as the official ``langgraph build`` does.

Run at image build time (the Dockerfile does)::

    python -m graphport.install_deps --config langgraph.json [--dry-run] [REQUIREMENT ...]

Each entry of ``dependencies`` is, as for the official CLI:

- a local folder (it starts with ``.``, relative to langgraph.json) holding a
  ``pyproject.toml`` or a ``setup.py``: that package is installed;
- another local folder: its ``requirements.txt`` is installed, if it has one (its modules are
  importable anyway: the server puts local folders on ``sys.path`` when it loads the graphs);
- anything else: a pip requirement (``langchain-openai``, ``httpx>=0.27``), installed as given.

Everything goes to one ``pip install``, together with the extra REQUIREMENTs given on the
command line (the Dockerfile passes graphport's own source, so that the user's dependencies
are resolved with graphport's and cannot break it).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from graphport.config import load_config
from graphport.errors import ConfigError

PACKAGE_FILES = ("pyproject.toml", "setup.py")


@dataclass(frozen=True)
class InstallPlan:
    """What one langgraph.json asks pip for, in the order its ``dependencies`` list it."""

    packages: list[str]  # pip requirements, as written
    requirement_files: list[Path]  # requirements.txt of local folders that are no package
    local_packages: list[Path]  # local folders with a pyproject.toml or a setup.py

    def pip_args(self, extra: Sequence[str] = ()) -> list[str]:
        """The arguments after ``pip install``; empty when there is nothing to install.

        An extra requirement naming a folder already listed as a local package is dropped:
        pip refuses one project given twice."""
        args = list(self.packages)
        for requirements in self.requirement_files:
            args += ["-r", str(requirements)]
        local = [str(path) for path in self.local_packages]
        args += local
        for requirement in extra:
            if not (Path(requirement).is_dir() and str(Path(requirement).resolve()) in local):
                args.append(requirement)
        return args


def plan_install(config_path: Path) -> InstallPlan:
    """Read ``dependencies`` from ``config_path``.

    Raises ConfigError when the file is unreadable or invalid, or a local dependency is
    missing or not a folder (as the official CLI refuses them)."""
    config = load_config(config_path)
    packages: list[str] = []
    requirement_files: list[Path] = []
    local_packages: list[Path] = []
    for dependency in config.dependencies:
        if not dependency.startswith("."):
            packages.append(dependency)
            continue
        folder = (config.base_dir / dependency).resolve()
        if not folder.exists():
            raise ConfigError(f"dependencies: {dependency!r} not found at {folder}")
        if not folder.is_dir():
            raise ConfigError(f"dependencies: {dependency!r} ({folder}) is not a folder")
        if any((folder / name).is_file() for name in PACKAGE_FILES):
            local_packages.append(folder)
        elif (folder / "requirements.txt").is_file():
            requirement_files.append(folder / "requirements.txt")
    return InstallPlan(packages, requirement_files, local_packages)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m graphport.install_deps",
        description="pip-install the dependencies of a langgraph.json",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("langgraph.json"),
        help="the langgraph.json to read (default: ./langgraph.json)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the pip command instead of running it"
    )
    parser.add_argument(
        "requirements",
        nargs="*",
        metavar="REQUIREMENT",
        help="more requirements for the same pip install (e.g. graphport's source folder)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Install (or with --dry-run print) what the config needs; returns pip's exit code."""
    args = _parser().parse_args(argv)
    try:
        pip_args = plan_install(args.config).pip_args(args.requirements)
    except ConfigError as exc:
        print(f"graphport: {exc}", file=sys.stderr)
        return 2
    if not pip_args:
        print("graphport: no dependencies to install")
        return 0
    command = [sys.executable, "-m", "pip", "install", *pip_args]
    print(shlex.join(command), flush=True)
    if args.dry_run:
        return 0
    # pip reads relative paths (in a requirements.txt too) from where it runs: the config's folder.
    return subprocess.run(command, cwd=args.config.resolve().parent, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())

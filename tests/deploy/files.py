"""Reading the deployment files as Docker and Compose read them (enough of it for the tests)."""

from __future__ import annotations

import argparse
import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from graphport.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, CMD, ...
    args: str  # the rest of the instruction, continuation lines joined

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form CMD / ENTRYPOINT / RUN."""
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions in order. As Docker does: a trailing backslash continues the line, and
    comment lines are dropped (also between continued lines)."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    """The build stages, each starting with its FROM."""
    found: list[list[Instruction]] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def dockerignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore leaves ``relative`` (or a folder above it) out of the build
    context. Patterns are matched as Docker does for the forms used here (``name``,
    ``dir/name``, ``**/name``, ``*`` globs); a ``!`` exception re-includes. Where it
    differs from Docker it finds more files ignored (``*`` also crosses ``/``), never fewer."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            hit = fnmatch.fnmatchcase(prefix, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.split("/")[-1], bare)
            )
            if hit:
                ignored = not negate
    return ignored


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment``, in either of its forms (mapping or ``KEY=value`` list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(key): str(value) for key, value in env.items()}


def settings_env() -> set[str]:
    """Every environment variable graphport's settings read."""
    return {field.alias for field in Settings.model_fields.values() if field.alias}


def compose_service(name: str) -> dict[str, Any]:
    found = compose()["services"][name]
    assert isinstance(found, dict)
    return found


def api_service() -> dict[str, Any]:
    return compose_service("api")


def cli_parser() -> argparse.ArgumentParser:
    """graphport's own argument parser, found in graphport.cli (whatever builds it is named)."""
    import graphport.cli

    for name, value in vars(graphport.cli).items():
        if "parser" in name and callable(value) and not isinstance(value, type):
            built = value()
            if isinstance(built, argparse.ArgumentParser):
                return built
    raise AssertionError("graphport.cli builds no argparse parser")


def parse_cli(argv: list[str]) -> argparse.Namespace:
    """``argv`` (after ``graphport``) parsed as the CLI parses it; an unknown flag, a missing
    value or a bad one fails the test (argparse would exit with status 2)."""
    try:
        return cli_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"graphport rejects {argv}: exit status {exc.code}") from None

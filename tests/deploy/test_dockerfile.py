"""The Dockerfile, read as Docker reads it (no container engine runs here): a multi-stage
build on slim Python, an unprivileged runtime, the compose command, a health check that
works on slim (run here against the API started as compose starts it)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

from graphport import install_deps
from tests.deploy.files import (
    DOCKERFILE,
    ROOT,
    Instruction,
    api_service,
    dockerfile_instructions,
    dockerignore_patterns,
    dockerignored,
    parse_cli,
    stages,
)
from tests.server import free_port


def instructions() -> list[Instruction]:
    return dockerfile_instructions(DOCKERFILE.read_text())


def runtime() -> list[Instruction]:
    """The last stage: what the image runs."""
    return stages(instructions())[-1]


def only(stage: list[Instruction], keyword: str) -> Instruction:
    (found,) = [i for i in stage if i.keyword == keyword]
    return found


def arg_defaults(stage: list[Instruction]) -> dict[str, str]:
    """``ARG NAME=default`` values declared before the first FROM or in ``stage``."""
    found = {}
    for instruction in [*instructions()[: _first_from()], *stage]:
        name, sep, default = instruction.args.partition("=")
        if instruction.keyword == "ARG" and sep:
            found[name] = default
    return found


def _first_from() -> int:
    return next(i for i, ins in enumerate(instructions()) if ins.keyword == "FROM")


def expand(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], value)


def test_two_stages_on_slim_python() -> None:
    built = stages(instructions())
    assert len(built) == 2
    variables = arg_defaults([])
    for stage in built:
        image = expand(stage[0].args.split()[0], variables)
        assert re.fullmatch(r"python:3\.1[1-3]-slim", image), image
    # the runtime takes the virtualenv and the app from the build stage, nothing else
    name = built[0][0].args.split()[-1]
    copies = [i.args for i in runtime() if i.keyword == "COPY"]
    assert copies == [f"--from={name} /opt/venv /opt/venv", f"--from={name} /app /app"]
    assert not [i for i in runtime() if i.keyword == "RUN" and "pip" in i.args]


def test_runtime_runs_as_an_unprivileged_user() -> None:
    user = only(runtime(), "USER").args
    assert user not in {"root", "0", "0:0"}
    assert any(i.keyword == "RUN" and "useradd" in i.args and user in i.args for i in runtime())
    keywords = [i.keyword for i in runtime()]
    assert keywords.index("USER") < keywords.index("CMD")


def test_cmd_is_the_compose_command_on_the_exposed_port() -> None:
    command = only(runtime(), "CMD").exec_form()
    # the image alone is a whole server; compose's api leaves the runs to its workers
    assert command == [c for c in api_service()["command"] if c != "--no-workers"]
    args = parse_cli(command[1:])
    assert only(runtime(), "EXPOSE").args == str(args.port) == "8000"
    # the image works in the folder of the app's langgraph.json, which `serve` reads
    workdir = expand(only(runtime(), "WORKDIR").args, arg_defaults(runtime()))
    assert workdir.rstrip("/.") == "/app"
    assert (ROOT / args.config).is_file()


def test_build_installs_graphport_then_the_dependencies_of_langgraph_json() -> None:
    build = stages(instructions())[0]
    runs = [i.args for i in build if i.keyword == "RUN"]
    assert any(run.startswith("pip install . ") for run in runs)  # no dev extras
    (deps,) = [run for run in runs if "graphport.install_deps" in run]
    argv = shlex.split(expand(deps, arg_defaults(build)).split("&&")[0])
    assert argv[:3] == ["python", "-m", "graphport.install_deps"]
    parsed = install_deps._parser().parse_args(argv[3:])
    assert parsed.requirements == ["/app"]  # graphport's source, resolved together
    # in the image /app is the repository root, the "." of its langgraph.json: given once
    plan = install_deps.plan_install(ROOT / parsed.config)
    assert plan.pip_args([str(ROOT)]) == [str(ROOT)]


def test_build_context_holds_what_the_image_needs_and_nothing_local() -> None:
    patterns = dockerignore_patterns()
    build = stages(instructions())[0]
    sources = [
        source
        for i in build
        if i.keyword == "COPY" and not i.args.startswith("--")
        for source in i.args.split()[:-1]
    ]
    assert sources[-1] == "."  # the app, whole, after graphport's own files
    for source in [s for s in sources if s != "."] + ["langgraph.json", "examples/chat.py"]:
        assert (ROOT / source).exists(), source
        assert not dockerignored(source.rstrip("/"), patterns), source
    for local in [".venv/bin/python", ".git/HEAD", ".graphport/PG_VERSION", "tests/conftest.py"]:
        assert dockerignored(local, patterns), local


def _healthcheck_code() -> str:
    healthcheck = only(runtime(), "HEALTHCHECK")
    options, _, exec_form = healthcheck.args.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    command = Instruction("CMD", exec_form).exec_form()
    assert command[:2] == ["python", "-c"]  # slim has no curl
    assert "http://127.0.0.1:8000/ok" in command[2]
    return command[2]


def test_healthcheck_passes_on_a_ready_api_and_fails_without_one(compose_api: str) -> None:
    port = compose_api.rsplit(":", 1)[1]
    code = _healthcheck_code()
    ready = subprocess.run([sys.executable, "-c", code.replace("8000", port)], timeout=10)
    assert ready.returncode == 0
    gone = subprocess.run(
        [sys.executable, "-c", code.replace("8000", str(free_port()))],
        capture_output=True,
        timeout=10,
    )
    assert gone.returncode == 1
    assert b"Connection refused" in gone.stderr

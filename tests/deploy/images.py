"""The container images, read without a container engine: deploy/Dockerfile parsed into stages, and the build
commands `make images` runs, captured by a stand-in engine that prints its arguments instead of building."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.manifests import REPO

DOCKERFILE = REPO / "deploy" / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, kind: str) -> list[str]:
        return [rest for instruction, rest in self.instructions if instruction == kind]


@dataclass(frozen=True)
class Build:
    """One `<engine> build` command of `make images`."""

    dockerfile: str
    tag: str
    context: str
    args: dict[str, str]


def parse(path: Path = DOCKERFILE) -> tuple[dict[str, str | None], list[Stage]]:
    """Global ARGs (None when the ARG has no default) and the stages, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.I)
            assert match, line
            base = re.sub(r"\$\{(\w+)\}", lambda m: str(args[m[1]]), match[1])
            stages.append(Stage(base, match[2]))
        elif not stages and instruction == "ARG":
            name, equals, default = rest.partition("=")
            args[name.strip()] = default.strip() if equals else None
        else:
            assert stages, f"{path}: {instruction} before FROM"
            stages[-1].instructions.append((instruction, re.sub(r"\s+", " ", rest.strip())))
    return args, stages


def substitute(text: str, values: dict[str, str]) -> str:
    """What the builder makes of `${NAME}` and `$NAME` in the instructions that take variables (LABEL, ENV, ...)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m[1] or m[2], m[0]), text)


@functools.cache
def make_images(**variables: str) -> tuple[str, tuple[Build, ...]]:
    """`make images` with a stand-in engine: its output, and every build command it ran, as the engine got it."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = Path(tmp) / "engine"
        engine.write_text(f"#!{sys.executable}\nimport json, sys\nprint('ENGINE ' + json.dumps(sys.argv[1:]))\n")
        engine.chmod(0o755)
        result = subprocess.run(
            ["make", "--no-print-directory", "images", f"CONTAINER_ENGINE={engine}",
             *(f"{name}={value}" for name, value in variables.items())],
            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    builds = [parse_build(json.loads(line.removeprefix("ENGINE ")))
              for line in result.stdout.splitlines() if line.startswith("ENGINE ")]
    return result.stdout, tuple(builds)


def parse_build(argv: list[str]) -> Build:
    assert argv[0] == "build", argv
    options: dict[str, str] = {}
    args: dict[str, str] = {}
    rest = argv[1:]
    while len(rest) > 1:
        option, value, rest = rest[0], rest[1], rest[2:]
        assert option in ("-f", "-t", "--build-arg"), f"unexpected {option} in {argv}"
        if option == "--build-arg":
            name, equals, arg = value.partition("=")
            assert equals and name not in args, f"--build-arg {value} in {argv}"
            args[name] = arg
        else:
            assert option not in options, argv
            options[option] = value
    assert len(rest) == 1, f"one build context expected at the end of {argv}"
    return Build(dockerfile=options["-f"], tag=options["-t"], context=rest[0], args=args)


def images() -> dict[str, Build]:
    """Each image `make images` builds, by name (the part's name in deploy/k8s: auth, ..., gateway, web)."""
    found: dict[str, Build] = {}
    for build in make_images()[1]:
        name = build.tag.rpartition(":")[0].rpartition("/")[2]
        assert name not in found, f"{name} is built twice"
        found[name] = build
    return found


def image_port(name: str) -> int:
    """The port the image serves on without arguments (and EXPOSEs)."""
    return int(images()[name].args["PORT"])


def image_command(name: str) -> str:
    """The console script the image runs."""
    return images()[name].args["COMMAND"]


def image_user() -> tuple[int, int]:
    """The numeric user and group every image runs as."""
    users = parse()[1][-1].all("USER")
    assert users, f"{DOCKERFILE} sets no USER"
    match = re.fullmatch(r"(\d+):(\d+)", users[-1])
    assert match, f"USER {users[-1]}: not numeric user:group"
    return int(match[1]), int(match[2])

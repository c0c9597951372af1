"""The Dockerfiles, read as text (there is no container engine here to build them): multi-stage, a pinned base,
wheels built in the builder stage, a final stage with nothing but the virtual environment, a numeric non-root
user and no HEALTHCHECK; and `make images` knows every one of them."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.manifests import REPO

IMAGES = {"auth": "services/auth", "catalog": "services/catalog", "ill": "services/ill-broker",
          "notify": "services/notify", "gateway": "gateway", "web": "web"}
PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
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
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], match[1])
            stages.append(Stage(base, match[2]))
        elif not stages and instruction == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        else:
            assert stages, f"{path}: {instruction} before FROM"
            stages[-1].instructions.append((instruction, rest.strip()))
    return args, stages


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_is_multi_stage_small_pinned_and_non_root(name: str) -> None:
    path = REPO / IMAGES[name] / "Dockerfile"
    _, stages = parse(path)
    assert len(stages) >= 2, "multi-stage: build wheels in one stage, run from another"
    build, final = stages[0], stages[-1]
    for stage in stages:
        assert PINNED_BASE.match(stage.base), f"{stage.base}: pin python:3.11.<patch>-slim-bookworm (or a digest)"
    assert final.base == build.base, "the virtual environment is copied: both stages need the same interpreter"

    build_steps = " ".join(rest for kind, rest in build.instructions if kind == "RUN")
    assert "pip wheel" in build_steps and "--wheel-dir /wheels" in build_steps
    for package in ("contracts", "libs/meshkit", IMAGES[name]):
        assert f"./{package}" in build_steps, f"the builder must build the {package} wheel"

    kinds = [kind for kind, _ in final.instructions]
    assert "HEALTHCHECK" not in kinds, "Kubernetes probes check health"
    copies = [rest for kind, rest in final.instructions if kind in ("COPY", "ADD")]
    assert copies and all(c.startswith(f"--from={build.name} ") for c in copies), \
        "the final stage takes only the built virtual environment, no sources, wheels or build tools"
    final_runs = " ".join(rest for kind, rest in final.instructions if kind == "RUN")
    assert not re.search(r"\b(apt-get|apk|gcc|make|pip install|uv )\b", final_runs)
    users = [rest for kind, rest in final.instructions if kind == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1]), "a numeric non-root USER"
    assert not [rest for kind, rest in final.instructions if kind in ("ARG", "ENV") and re.search(
        r"(?i)(secret|password|token|key)\s*=", rest)], "no secrets baked into the image"


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_context() -> None:
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".data", "**/.venv", "**/node_modules", "**/.env", "**/*.key", "**/tests"} <= ignored


def test_make_images_builds_every_image_or_says_why_not() -> None:
    makefile = (REPO / "Makefile").read_text()
    listed = dict(item.split("=") for item in re.search(r"^IMAGES := (.*?)(?<!\\)$", makefile, re.M | re.S)[1]
                  .replace("\\\n", " ").split())
    assert listed == IMAGES
    result = subprocess.run(["make", "--no-print-directory", "images", "CONTAINER_ENGINE="], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "no working container engine" in result.stdout
    dry = subprocess.run(["make", "--no-print-directory", "images", "CONTAINER_ENGINE=echo"], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0
    for name, directory in IMAGES.items():
        if (REPO / directory / "pyproject.toml").exists():
            assert f"build -f {directory}/Dockerfile -t bibliomesh/{name}:0.1.0 ." in dry.stdout

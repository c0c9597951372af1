"""The images, checked without a container engine (there is none here to build them): one deploy/Dockerfile,
multi-stage, a pinned base, wheels built in the builder stage, a final stage with nothing but the virtual
environment, a numeric non-root user and no HEALTHCHECK; everything that differs between images comes in as build
args; and `make images` passes every part's package, console script, port and labels to it."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.images import image_user, images, make_images, parse, substitute
from tests.deploy.manifests import REPO
from tests.deploy.workloads import EVERYTHING, served_port

PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")
SHARED_PACKAGES = ("contracts", "libs/meshkit")


def required_args() -> set[str]:
    return {name for name, default in parse()[0].items() if default is None}


def test_dockerfile_is_multi_stage_small_pinned_and_non_root() -> None:
    _, stages = parse()
    assert len(stages) >= 2, "multi-stage: build wheels in one stage, run from another"
    build, final = stages[0], stages[-1]
    for stage in stages:
        assert PINNED_BASE.match(stage.base), f"{stage.base}: pin python:3.11.<patch>-slim-bookworm (or a digest)"
    assert final.base == build.base, "the virtual environment is copied: both stages need the same interpreter"

    copied = [rest.split()[0] for rest in build.all("COPY")]
    assert copied == [f"{package}/" for package in SHARED_PACKAGES] + ["${PACKAGE_DIR}/"], \
        "the builder copies the shared packages and the image's own, nothing else"
    build_steps = " ".join(build.all("RUN"))
    assert "pip wheel" in build_steps and "--wheel-dir /wheels" in build_steps
    for package in (*SHARED_PACKAGES, "${PACKAGE_DIR}"):
        assert f"./{package}" in build_steps, f"the builder must build the {package} wheel"

    kinds = [kind for kind, _ in final.instructions]
    assert "HEALTHCHECK" not in kinds, "Kubernetes probes check health"
    copies = final.all("COPY") + final.all("ADD")
    assert copies and all(c.startswith(f"--from={build.name} ") for c in copies), \
        "the final stage takes only the built virtual environment, no sources, wheels or build tools"
    assert not re.search(r"\b(apt-get|apk|gcc|make|pip install|uv )\b", " ".join(final.all("RUN")))
    assert min(image_user()) > 0, "a numeric non-root USER"
    assert not [rest for kind, rest in final.instructions if kind in ("ARG", "ENV") and re.search(
        r"(?i)(secret|password|token|key)\s*=", rest)], "no secrets baked into the image"


def test_a_build_without_its_args_fails_before_the_wheels() -> None:
    """An empty PACKAGE_DIR would turn `COPY ${PACKAGE_DIR}/ ...` into a copy of the whole context."""
    _, stages = parse()
    build = stages[0]
    package_copy = build.instructions.index(("COPY", "${PACKAGE_DIR}/ ${PACKAGE_DIR}/"))
    guard = [rest for kind, rest in build.instructions[:package_copy] if kind == "RUN"][-1]
    declared = {rest for kind, rest in build.instructions[:package_copy] if kind == "ARG"}
    assert required_args() <= declared, "the guard can only see the ARGs its stage declares"
    complete = images()["auth"].args

    def run_guard(args: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["/bin/sh", "-c", guard], env={"PATH": os.environ["PATH"], **args},
                              capture_output=True, text=True, timeout=10)

    assert run_guard(complete).returncode == 0
    for name in required_args():
        result = run_guard({key: value for key, value in complete.items() if key != name})
        assert result.returncode != 0 and name in result.stderr, f"a build without {name} goes on"
    assert run_guard({**complete, "PORT": "80a1"}).returncode != 0


@pytest.mark.parametrize("name", EVERYTHING)
def test_image_labels_exposes_and_runs_what_its_build_args_say(name: str, tmp_path: Path) -> None:
    assert name in images(), f"make images builds no {name} image"
    args = images()[name].args
    final = parse()[1][-1]
    labels = dict(re.findall(r'(\S+)="([^"]*)"', substitute(" ".join(final.all("LABEL")), args)))
    assert labels == {"org.opencontainers.image.title": f"bibliomesh-{name}",
                      "org.opencontainers.image.description": args["DESCRIPTION"]}
    assert [substitute(rest, args) for rest in final.all("EXPOSE")] == [args["PORT"]]

    # The container's process, with the image's environment and a stand-in for the console script on PATH.
    env = dict(item.split("=", 1) for rest in final.all("ENV") for item in substitute(rest, args).split())
    env["PATH"] = str(tmp_path)
    script = tmp_path / args["COMMAND"]
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\nprint(json.dumps([os.getpid(), sys.argv[1:]]))\n")
    script.chmod(0o755)
    entrypoint = json.loads(final.all("ENTRYPOINT")[-1])  # not JSON would be the shell form, which drops arguments
    cmd = json.loads(final.all("CMD")[-1]) if final.all("CMD") else []

    def run(*arguments: str) -> list[str]:
        process = subprocess.Popen([*entrypoint, *(arguments or cmd)], env=env, stdout=subprocess.PIPE, text=True)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0
        pid, argv = json.loads(out)
        assert pid == process.pid, "the console script replaces the shell (PID 1 in the container, gets signals)"
        return argv  # type: ignore[no-any-return]

    assert run() == ["serve", "--host", "0.0.0.0", "--port", args["PORT"]]
    assert run("migrate", "--no-create-database") == ["migrate", "--no-create-database"]
    assert run("dead-letters", "--note", "two words") == ["dead-letters", "--note", "two words"]


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_context() -> None:
    ignored = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert {".git", ".data", "**/.venv", "**/node_modules", "**/.env", "**/*.key", "**/tests"} <= set(ignored)
    assert not [pattern for pattern in ignored if pattern.startswith("!")], "the check below reads no exceptions"

    def is_ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
        return any(fnmatch.fnmatch(prefix, pattern) or (pattern.startswith("**/") and (
            fnmatch.fnmatch(prefix, pattern[3:]) or fnmatch.fnmatch(prefix, "*/" + pattern[3:])))
            for prefix in prefixes for pattern in ignored)

    sources = [*SHARED_PACKAGES, *(build.args["PACKAGE_DIR"] for build in images().values())]
    for source in sources:
        for path in (f"{source}/pyproject.toml", *(str(p.relative_to(REPO)) for p in (REPO / source / "src").rglob(
                "*.py") if "__pycache__" not in p.parts)):
            assert not is_ignored(path), f".dockerignore keeps {path} out of the images"
    assert is_ignored("services/auth/tests/unit/test_x.py") and is_ignored("services/auth/.env")


def test_make_images_builds_every_part_from_the_one_dockerfile() -> None:
    result = subprocess.run(["make", "--no-print-directory", "images", "CONTAINER_ENGINE="], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "no working container engine" in result.stdout

    built = images()
    assert sorted(built) == sorted(EVERYTHING), "an image per service, the gateway and the web front end"
    packages = {str(p.parent.relative_to(REPO)) for p in REPO.glob("services/*/pyproject.toml")} | {"gateway", "web"}
    assert {build.args["PACKAGE_DIR"] for build in built.values()} == packages, "every package has a row"
    ports = [build.args["PORT"] for build in built.values()]
    assert len(set(ports)) == len(ports)
    for name, build in built.items():
        assert (build.dockerfile, build.context, build.tag) == ("deploy/Dockerfile", ".", f"bibliomesh/{name}:0.1.0")
        assert set(build.args) == required_args(), f"{name}: pass exactly the ARGs deploy/Dockerfile requires"
        directory = build.args["PACKAGE_DIR"]
        scripts = tomllib.loads((REPO / directory / "pyproject.toml").read_text())["project"]["scripts"]
        assert build.args["COMMAND"] in scripts, f"{name}: {build.args['COMMAND']} is no console script of {directory}"
        assert int(build.args["PORT"]) == served_port(name), f"{name}: the image serves elsewhere than the app"
        assert build.args["TITLE"] == f"bibliomesh-{name}"
        assert build.args["DESCRIPTION"].startswith("Bibliomesh ")


def test_make_images_takes_registry_tag_base_image_and_a_selection() -> None:
    digest = "python:3.11.13-slim-bookworm@sha256:" + "0" * 64
    _, builds = make_images(IMAGE_PREFIX="registry.example.org/bibliomesh/", IMAGE_TAG="1.2.3",
                            PYTHON_IMAGE=digest, IMAGES="gateway web")
    assert [build.tag for build in builds] == ["registry.example.org/bibliomesh/gateway:1.2.3",
                                               "registry.example.org/bibliomesh/web:1.2.3"]
    assert all(build.args["PYTHON_IMAGE"] == digest for build in builds)
    assert "PYTHON_IMAGE" not in images()["gateway"].args, "without PYTHON_IMAGE the pinned default applies"
    assert PINNED_BASE.match(str(parse()[0]["PYTHON_IMAGE"]))

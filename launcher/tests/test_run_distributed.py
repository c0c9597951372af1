"""`bibliomesh run-distributed` and `bibliomesh migrate --distributed` as a person starting the platform meets them:
the databases the documented path migrates, a crashed process named at once, demo accounts only when asked for."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bibliomesh_launcher import cli, demo, distributed

SERVICES = ("auth", "catalog", "ill", "notify")
ADMIN = {"AUTH_BOOTSTRAP_CLIENT_ID": "admin", "AUTH_BOOTSTRAP_CLIENT_SECRET": "a-secret-long-enough-for-this"}
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[None]:
    """No database or bus URL set, as on a fresh machine; whatever a command adds is gone afterwards."""
    saved = dict(os.environ)
    for key in [key for key in os.environ if key.endswith(("_DATABASE_URL", "_BUS_URL", "_BOOTSTRAP_CLIENT_ID",
                                                           "_BOOTSTRAP_CLIENT_SECRET"))]:
        del os.environ[key]
    os.environ.pop("PORT", None)
    os.environ["DATA_DIR"] = str(tmp_path)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def migrated(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The database URLs `migrate` creates and upgrades, instead of doing it."""
    from meshkit import migrations

    calls: dict[str, list[str]] = {"created": [], "upgraded": []}

    async def ensure_database(url: str) -> None:
        calls["created"].append(url)

    monkeypatch.setattr(migrations, "ensure_database", ensure_database)
    monkeypatch.setattr(migrations, "upgrade", lambda _path, url: calls["upgraded"].append(url))
    return calls


def python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.usefixtures("environment")
def test_migrate_distributed_creates_and_migrates_the_postgres_databases_run_distributed_uses(
        migrated: dict[str, list[str]]) -> None:
    os.environ["NOTIFY_DATABASE_URL"] = "postgresql+asyncpg://postgres@db.example:5432/notify"

    result = CliRunner().invoke(cli.app, ["migrate", "--distributed"])

    assert result.exit_code == 0, result.output
    expected = [f"postgresql+asyncpg://postgres@127.0.0.1:5432/bibliomesh_{name}" for name in SERVICES[:3]]
    expected.append("postgresql+asyncpg://postgres@db.example:5432/notify")  # set explicitly: kept
    assert migrated == {"created": expected, "upgraded": expected}
    run_env = distributed.DistributedConfig().service_env({})
    assert expected[:3] == [run_env[f"{prefix}DATABASE_URL"] for prefix in ("AUTH_", "CATALOG_", "ILL_")]


@pytest.mark.usefixtures("environment")
def test_migrate_without_the_flag_reads_the_environment_only(migrated: dict[str, list[str]], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.app, ["migrate"])

    assert result.exit_code == 0, result.output
    assert migrated["upgraded"] == [f"sqlite+aiosqlite:///{tmp_path / name}.sqlite" for name in SERVICES]


def test_make_run_distributed_migrates_the_distributed_databases_first_and_loads_demo_data_only_when_asked() -> None:
    def commands(*variables: str) -> list[str]:
        out = subprocess.run(["make", "-n", "run-distributed", "PORT=8100", *variables], cwd=REPOSITORY, check=True,
                             capture_output=True, text=True).stdout
        return [line.split("/bin/", 1)[1] for line in out.splitlines() if "/bin/bibliomesh " in line]

    assert commands() == ["bibliomesh migrate --distributed", "bibliomesh run-distributed --port 8100"]
    assert commands("DEMO=1")[-1] == "bibliomesh run-distributed --port 8100 --demo"


def test_the_ports_follow_the_gateway_port() -> None:
    assert distributed.DistributedConfig.on_port(8000) == distributed.DistributedConfig()
    assert distributed.DistributedConfig.on_port(18000).ports() == {
        "gateway": 18000, "auth": 18001, "catalog": 18002, "ill": 18003, "notify": 18004, "web": 18005,
        "gateway metrics": 19000, "web metrics": 19005}


def test_waiting_for_the_platform_fails_at_once_naming_a_process_that_exited() -> None:
    processes = {"auth": python("import time; time.sleep(60)"), "catalog": python("raise SystemExit(3)")}
    started = time.monotonic()
    try:
        with pytest.raises(distributed.ProcessExited, match="the catalog process exited with code 3"):
            distributed.wait_ready(f"http://127.0.0.1:{closed_port()}", timeout=30, processes=processes)
    finally:
        distributed.stop_processes(processes)
    assert time.monotonic() - started < 10
    assert processes["auth"].returncode is not None


class FakePlatform:
    """Stands in for the processes and the HTTP calls: records what run-distributed did."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, processes: dict[str, str]) -> None:
        self.code = processes
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env: dict[str, str] = {}
        self.calls: list[str] = []
        monkeypatch.setattr(distributed, "start_processes", self.start)
        monkeypatch.setattr(distributed, "wait_ready", lambda *_a, **_k: {"status": "ready"})
        monkeypatch.setattr(cli, "load_demo_data", self.load_demo_data)
        monkeypatch.setattr(cli, "register_web_client", self.register_web_client)

    def start(self, _config: distributed.DistributedConfig, env: dict[str, str]) -> dict[str, Any]:
        self.env = env
        self.processes = {name: python(code) for name, code in self.code.items()}
        return self.processes

    async def load_demo_data(self, *_args: str) -> demo.DemoData:
        self.calls.append("demo data")
        return demo.DemoData(created=["CN-DL-RPL/operator"], institutions=["CN-DL-RPL"])

    async def register_web_client(self, *_args: str) -> list[str]:
        self.calls.append("web client")
        return []


@pytest.mark.usefixtures("environment")
def test_one_process_exiting_stops_the_others_and_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    platform = FakePlatform(monkeypatch, {"auth": "import time; time.sleep(60)",
                                          "notify": "import time; time.sleep(1); raise SystemExit(4)"})

    result = CliRunner().invoke(cli.app, ["run-distributed", "--port", "18000"], env=ADMIN)

    assert result.exit_code == 1
    assert "the notify process exited with code 4; stopping the others" in result.output
    assert platform.processes["auth"].poll() is not None


@pytest.mark.usefixtures("environment")
def test_run_distributed_loads_no_demo_accounts_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    platform = FakePlatform(monkeypatch, {"gateway": "import time; time.sleep(0.5)"})

    result = CliRunner().invoke(cli.app, ["run-distributed"], env=ADMIN)

    assert platform.calls == ["web client"]
    assert demo.DEMO_PASSWORD not in result.output and "WEB_DEMO_PASSWORD" not in platform.env
    assert "http://127.0.0.1:8000/readyz" in result.output


@pytest.mark.usefixtures("environment")
def test_run_distributed_with_demo_says_so_and_shows_the_published_password(monkeypatch: pytest.MonkeyPatch) -> None:
    platform = FakePlatform(monkeypatch, {"gateway": "import time; time.sleep(0.5)"})

    result = CliRunner().invoke(cli.app, ["run-distributed", "--demo"], env=ADMIN)

    assert platform.calls == ["demo data"]
    assert f"password {demo.DEMO_PASSWORD}; operator at CN-DL-RPL is the platform admin" in result.output
    assert "the demo password is published" in result.output
    assert platform.env["WEB_DEMO_PASSWORD"] == demo.DEMO_PASSWORD


@pytest.mark.usefixtures("environment")
def test_run_distributed_refuses_to_start_without_the_bootstrap_client(monkeypatch: pytest.MonkeyPatch) -> None:
    platform = FakePlatform(monkeypatch, {"gateway": "pass"})

    result = CliRunner().invoke(cli.app, ["run-distributed"])

    assert result.exit_code == 2 and "AUTH_BOOTSTRAP_CLIENT_SECRET" in result.output
    assert platform.processes == {}

from __future__ import annotations

from bibliomesh_notify.spec import SPEC
from meshkit.cli import service_cli

app = service_cli(SPEC)


def main() -> None:
    app()

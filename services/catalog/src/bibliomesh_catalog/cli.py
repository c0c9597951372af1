from __future__ import annotations

from meshkit.cli import service_cli

from bibliomesh_catalog.spec import SPEC

app = service_cli(SPEC)


def main() -> None:
    app()

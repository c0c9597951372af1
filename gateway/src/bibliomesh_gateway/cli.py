from __future__ import annotations

import typer

app = typer.Typer(help="Run the Bibliomesh gateway.", no_args_is_help=True)


@app.command()
def serve(host: str = "0.0.0.0", port: int = 8000) -> None:
    """Serve the gateway (distributed mode); upstream URLs come from GATEWAY_* settings."""
    import uvicorn

    from bibliomesh_gateway.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_config=None, loop="uvloop", http="httptools",
                proxy_headers=True, server_header=False)


@app.command()
def version() -> None:
    """Print the gateway version."""
    typer.echo("bibliomesh-gateway 0.1.0")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

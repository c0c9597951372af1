from __future__ import annotations

import typer

app = typer.Typer(help="Run the Bibliomesh gateway.", no_args_is_help=True)


@app.command()
def serve(host: str = "0.0.0.0", port: int = 8000) -> None:
    """Serve the gateway (distributed mode); upstream URLs come from GATEWAY_* settings. Prometheus metrics are on
    GATEWAY_METRICS_PORT of the same host, never on the public port."""
    from bibliomesh_gateway.app import create_app
    from bibliomesh_gateway.settings import load_settings
    from meshkit.serving import serve as serve_app

    settings = load_settings()
    gateway = create_app(settings)
    serve_app(gateway, host=host, port=port, metrics=gateway.metrics if settings.mode == "distributed" else None,
              metrics_port=settings.metrics_port, log_config=None, loop="uvloop", http="httptools",
              proxy_headers=True, server_header=False)


@app.command()
def version() -> None:
    """Print the gateway version."""
    typer.echo("bibliomesh-gateway 0.1.0")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

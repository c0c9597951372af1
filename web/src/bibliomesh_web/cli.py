from __future__ import annotations

import typer

app = typer.Typer(help="Run the Bibliomesh web front end.", no_args_is_help=True)


@app.command()
def serve(host: str = "0.0.0.0", port: int = 8005) -> None:
    """Serve the web front end (distributed mode); WEB_PUBLIC_URL says where browsers reach the gateway.
    Prometheus metrics are on WEB_METRICS_PORT of the same host (unless it is 0), not beside the pages."""
    from bibliomesh_web.app import create_app
    from bibliomesh_web.settings import load_settings
    from meshkit.serving import serve as serve_app

    settings = load_settings()
    web = create_app(settings)
    serve_app(web, host=host, port=port, metrics=web.state.metrics if settings.metrics_port else None,
              metrics_port=settings.metrics_port, log_config=None, loop="uvloop", http="httptools",
              proxy_headers=True)


@app.command()
def version() -> None:
    typer.echo("bibliomesh-web 0.1.0")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

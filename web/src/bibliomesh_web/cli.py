from __future__ import annotations

import typer

app = typer.Typer(help="Run the Bibliomesh web front end.", no_args_is_help=True)


@app.command()
def serve(host: str = "0.0.0.0", port: int = 8005) -> None:
    """Serve the web front end (distributed mode); WEB_PUBLIC_URL says where browsers reach the gateway."""
    import uvicorn

    from bibliomesh_web.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_config=None, loop="uvloop", http="httptools",
                proxy_headers=True)


@app.command()
def version() -> None:
    typer.echo("bibliomesh-web 0.1.0")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""`amigo serve`: run the HTTP app (public consent pages now; the /v1 API with its issue)."""

from __future__ import annotations

import typer

from amigo.cli.common import console, get_engine, user_errors
from amigo.core.config import get_settings
from amigo.core.migrate import upgrade


def register(app: typer.Typer) -> None:
    """Add the serve command to the root command."""

    @app.command("serve")
    @user_errors
    def serve_command(
        host: str | None = typer.Option(
            None, help="Interface (default AMIGO_API_HOST, 127.0.0.1)."
        ),
        port: int | None = typer.Option(None, help="Port (default AMIGO_API_PORT, 8000)."),
        workers: int | None = typer.Option(
            None, help="Worker processes (default AMIGO_API_WORKERS, 1)."
        ),
    ) -> None:
        """Serve the app with Uvicorn until interrupted."""
        settings = get_settings().api
        upgrade(get_engine())
        chosen_host, chosen_port = host or settings.host, port or settings.port
        console.print(
            f"AMIgo on http://{chosen_host}:{chosen_port} "
            f"(health: /health; public pages under /consent/...). Ctrl+C stops it."
        )
        shopify = get_settings().shopify
        if shopify.api_secret is not None and shopify.process_in_serve:
            console.print(
                "Shopify webhooks: received at /v1/connectors/shopify/webhooks and processed "
                "in the background by each worker process."
            )
        import uvicorn  # noqa: PLC0415 - every other command would pay 0.1 s to import it

        uvicorn.run(
            "amigo.api.app:create_default_app",
            factory=True,
            host=chosen_host,
            port=chosen_port,
            workers=workers or settings.workers,
            log_level="info",
        )

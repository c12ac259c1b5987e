"""`agentkit local ...`: run the embedded local model in the foreground, or say where it lives."""

from __future__ import annotations

import typer

from agentkit.cli._app import app

local_app = typer.Typer(
    help="The embedded local model (SmolLM2 on llama.cpp's OpenAI-compatible server).",
    no_args_is_help=True,
)
app.add_typer(local_app, name="local")


@local_app.command()
def serve(
    port: int | None = typer.Option(None, "--port", "-p", help="Loopback port (default: a free one)."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for the server to answer."),
) -> None:
    """Run the local model server in the foreground until Ctrl-C, for pointing other tools at it."""
    # Imported here: the CLI module itself must stay cheap to import.
    from agentkit.llm._local import API_KEY, LITELLM_MODEL, LocalModelServer

    server = LocalModelServer(port=port)
    typer.echo("starting the local model server ...", err=True)
    server.start(timeout_s=timeout)
    try:
        typer.echo(f"base_url: {server.base_url}")
        typer.echo(f"litellm:  model={LITELLM_MODEL!r}, api_base={server.base_url!r}, api_key={API_KEY!r}")
        typer.echo(
            f"openai:   OpenAI(base_url={server.base_url!r}, api_key={API_KEY!r}), model={server.model_name!r}"
        )
        typer.echo("press Ctrl-C to stop", err=True)
        code = server.wait()
        typer.echo(f"the local model server exited on its own (exit code {code})", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        typer.echo("stopping ...", err=True)
    finally:
        server.stop()


@local_app.command()
def info() -> None:
    """Print the model file, its size and whether the server part of the `local` extra is installed."""
    from agentkit.llm._local import INSTALL_HINT, LITELLM_MODEL, find_model_file

    path = find_model_file()
    typer.echo(f"model file: {path}")
    typer.echo(f"size:       {path.stat().st_size / 1e6:.1f} MB")
    typer.echo(f"litellm:    {LITELLM_MODEL} (api_key 'x', api_base from `agentkit local serve`)")
    import importlib.metadata  # here, not at the top: every command imports this module

    try:
        version = importlib.metadata.version("llama-cpp-python")
        typer.echo(f"llama-cpp-python: {version}")
    except importlib.metadata.PackageNotFoundError:
        typer.echo(f"llama-cpp-python: missing; {INSTALL_HINT}")

"""The typer application object. Command modules attach themselves to it; none of them may import
heavy libraries at module level (``agentkit --help`` must stay fast)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="agentkit",
    help="Discover, evaluate and ship LLM agents (Meta Agent Search with a real sandbox).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain text: with rich markup, "pip install 'agentkit[ray]'" lost its "[ray]".
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        from agentkit._version import __version__

        typer.echo(f"agentkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Discover, evaluate and ship LLM agents."""

"""`agentkit tasks list` and `agentkit tasks show NAME`: the benchmarks and what they look like."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from agentkit.cli._app import app
from agentkit.cli._options import parse_task_opts

tasks_app = typer.Typer(help="List and inspect benchmark tasks.", no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")

_DATA_DIR_HELP = (
    "Folder laid out like ../shared/data (gsm8k/, mgsm/, bbh/, drop/, gsm-hard/, svamp/, asdiv/). Default: "
    "$AGENTKIT_DATA_DIR, "
    "else ../shared/data beside the working directory or the repository."
)


@tasks_app.command("list")
def list_command(
    data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
) -> None:
    """Every task with its size and where its data comes from."""
    from rich.table import Table
    from rich.text import Text

    from agentkit.tasks import data_dirs, list_tasks

    dirs = data_dirs(data_dir)
    table = Table(title="agentkit tasks", caption="local data searched in: " + ", ".join(map(str, dirs)))
    table.add_column("task", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("scorer", no_wrap=True)
    table.add_column("source", overflow="fold", min_width=10)
    for info in list_tasks(data_dir=data_dir):
        if info.source == "generated":
            size = "unlimited"
        elif info.sizes:
            size = " / ".join(
                f"{n:,}" if len(info.sizes) == 1 else f"{split} {n:,}" for split, n in info.sizes.items()
            )
        else:
            size = "?"
        source = info.source
        if any(source.startswith(str(d)) for d in dirs):
            source = "local"
        table.add_row(
            info.name, size, info.scorer_name, Text(source, style="" if info.available else "yellow")
        )
    _console().print(table)


def _console() -> Any:
    from agentkit.cli._console import plain_console

    console = plain_console()
    # Piped output (scripts, tests) has no width to respect; 80 columns would truncate task names.
    return console if console.is_terminal else plain_console(width=160)


@tasks_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Task name, e.g. gsm8k, bbh/navigate, gen/arithmetic, jsonl:FILE."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
    split: str = typer.Option("default", "--split", help="Split to show (gsm8k: test or train)."),
    count: int = typer.Option(3, "--count", "-n", min=0, help="How many examples to print."),
    opt: list[str] = typer.Option(
        [], "--opt", "-o", help="Task option KEY=VALUE, e.g. -o seed=3 -o difficulty=4 or -o input_field=q."
    ),
) -> None:
    """A task's description, answer format and first examples."""
    from rich.table import Table

    from agentkit.tasks import load_task

    task = load_task(name, split=split, data_dir=data_dir, **parse_task_opts(opt))
    console = _console()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column(overflow="fold")
    head.add_row("task", task.name)
    head.add_row("split", f"{task.split} ({len(task.examples):,} examples)")
    head.add_row("source", task.source)
    head.add_row("scorer", task.scorer_name)
    if task.params:
        head.add_row("options", ", ".join(f"{k}={v}" for k, v in task.params.items()))
    head.add_row("description", task.description)
    head.add_row("answer format", task.answer_format)
    console.print(head)
    for example in task.examples[:count]:
        console.print(_example_panel(example.id, example.input, example.target))


def _example_panel(example_id: str, question: str, target: str) -> Any:
    from rich.panel import Panel
    from rich.text import Text

    # Text objects, not markup: questions contain brackets like "[ ( <" that rich would parse.
    body = Text(question)
    body.append("\n\ntarget: ", style="bold")
    body.append(target)
    return Panel(body, title=Text(example_id), title_align="left")

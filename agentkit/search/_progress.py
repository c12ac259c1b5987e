"""What a person watching a search sees: a live panel on a terminal, plain lines otherwise, or nothing."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live


@dataclass
class ProgressState:
    """The figures shown live."""

    phase: str = "starting"
    generation: int = 0
    generations: int = 0
    in_flight: dict[str, str] = field(default_factory=dict)
    """Candidate slot -> what it is doing."""
    best: str = "-"
    agents: int = 0
    spend: str = "-"
    last: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)


class SearchProgress:
    """Progress reporting. `mode` is ``live`` (rich panel), ``lines`` (one line per event) or ``off``."""

    def __init__(self, mode: str = "off", console: Console | None = None) -> None:
        self.mode = mode
        self.state = ProgressState()
        self._console = console
        self._live: Live | None = None

    @classmethod
    def auto(cls, enabled: bool, console: Console | None = None) -> SearchProgress:
        """A live panel on a terminal; nothing when disabled or when output is not a terminal (pipes, CI,
        tests), where a redrawn panel would only fill logs."""
        if not enabled or not sys.stderr.isatty():
            return cls("off")
        from rich.console import Console

        console = console or Console(stderr=True, markup=False)  # agent names are not markup
        return cls("live" if console.is_terminal else "off", console)

    def start(self) -> None:
        """Begin showing progress."""
        if self.mode == "live" and self._console is not None:
            from rich.live import Live

            self._live = Live(self._render(), console=self._console, refresh_per_second=4, transient=True)
            self._live.start()

    def stop(self) -> None:
        """Stop the live panel (idempotent)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def update(self, **changes: Any) -> None:
        """Change shown figures."""
        for key, value in changes.items():
            setattr(self.state, key, value)
        self._refresh()

    def slot(self, key: str, doing: str | None) -> None:
        """Say what candidate `key` is doing (None: it is finished)."""
        if doing is None:
            self.state.in_flight.pop(key, None)
        else:
            self.state.in_flight[key] = doing
        self._refresh()

    def log(self, message: str) -> None:
        """One notable event."""
        self.state.last = [*self.state.last[-4:], message]
        if self.mode == "lines" and self._console is not None:
            self._console.print(message, highlight=False, markup=False)
        self._refresh()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Any:
        from rich.table import Table

        s = self.state
        elapsed = time.monotonic() - s.started
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("phase", s.phase)
        table.add_row("generation", f"{s.generation} / {s.generations}")
        table.add_row("in flight", "; ".join(f"{k}: {v}" for k, v in s.in_flight.items()) or "-")
        table.add_row("best so far", s.best)
        table.add_row("agents", str(s.agents))
        table.add_row("spend", s.spend)
        table.add_row("elapsed", f"{elapsed:.0f} s")
        for line in s.last:
            table.add_row("", line)
        return table

"""report.html: self-contained, complete, and safe against hostile agent text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from agentkit.archive import Archive
from agentkit.report import REPORT_NAME, build_report, write_report


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for k, v in attrs:
            self.attrs.append((tag, k, v))
            if k == "id" and v:
                self.ids.append(v)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    return parser


def test_report_written_and_self_contained(run: tuple[Path, dict[str, str]]) -> None:
    run_dir, _ = run
    path = write_report(run_dir)
    assert path == run_dir / REPORT_NAME and path.is_file()
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.IGNORECASE)
    assert "<link" not in html.lower()
    parsed = _parse(html)
    assert "script" not in parsed.tags and "iframe" not in parsed.tags and "img" not in parsed.tags
    assert not [a for a in parsed.attrs if a[1].lower().startswith("on")]  # no event handler attributes
    assert parsed.tags.count("svg") >= 3  # progress, scores, monitor
    for section in (
        "summary",
        "selected",
        "progress",
        "scores",
        "lineage",
        "costs",
        "failures",
        "manual",
        "reflections",
        "monitor",
        "code",
        "events",
        "chart-progress",
        "chart-scores",
    ):
        assert section in parsed.ids, section


def test_report_content(run: tuple[Path, dict[str, str]]) -> None:
    run_dir, ids = run
    with Archive.open(run_dir) as archive:
        html = build_report(archive)
    for name in ("Chain of Thought", "Direct", "Self-Refine Critic", "Broken Indexer"):
        assert name in html
    # The hostile name and code are escaped, wherever they appear.
    assert "<script>" not in html and "<script" not in html
    assert "Evil &lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt; Agent" in html
    assert "Evil &lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    # Selection is explained and the test score labelled as the sealed test.
    sel = html[html.index('id="selected"') : html.index('id="progress"')]
    assert "Selected: Self-Refine Critic" in sel
    assert "search split" in sel and "sealed test" in sel and "0.850" in sel
    assert "lower bound" in sel and "Runner-up" in sel
    # Cost by role, with totals.
    costs = html[html.index('id="costs"') : html.index('id="failures"')]
    num = "<td class=num>"
    for role, calls, prompt, completion, cost in (
        ("agent", "210", "21,000", "4,200", "$0.0310"),
        ("meta", "9", "900", "180", "$0.0800"),
        ("reflection", "2", "200", "40", "$0.0040"),
    ):
        cells = "</td>".join(f"{num}{v}" for v in (calls, prompt, completion, cost))
        assert f"<tr><td>{role}</td>{cells}</td></tr>" in costs, role
    total = "".join(f"{num}<b>{v}</b></td>" for v in ("221", "22,100", "4,420", "$0.1150"))
    assert f"<tr><td><b>total</b></td>{total}</tr>" in costs
    # Failed candidates are listed with their error kinds.
    failures = html[html.index('id="failures"') : html.index('id="manual"')]
    assert "Broken Indexer" in failures and "exception ×5" in failures and "1 of 5 agents failed" in failures
    assert "fixes asked of it" in failures and "(fix " not in failures  # the first proposal, fixed once
    # Manual, reflections and monitor sections from the archive.
    assert "A critic that checks the answer before returning it" in html
    assert "critic catches arithmetic slips" in html and "crashed" in html
    monitor = html[html.index('id="monitor"') :]
    assert "coverage" in monitor and "distinct behaviours" in monitor
    # Every agent's code is in a collapsible block; secrets in the config are not shown.
    for agent_id in ids.values():
        assert f'<details id="code-{agent_id}"' in html
    assert "sk-should-never-show" not in html


def test_report_of_empty_and_unscored_runs(tmp_path: Path) -> None:
    with Archive.create(tmp_path / "empty", {"task": "t"}) as archive:
        html = build_report(archive)
    assert "No agent selected" in html and "The archive holds no agents" in html
    assert 'id="manual"' not in html and 'id="monitor"' not in html  # absent when the run has none
    with Archive.create(tmp_path / "one", {}) as archive:
        archive.add_agent("Only", "def forward(self, taskInfo):\n    return 1\n", status="failed")
        html = build_report(archive)
    assert "No agent selected" in html and "1 of 1 agents failed" in html


def test_a_failed_fix_says_which_attempt_it_was(run: tuple[Path, dict[str, str]]) -> None:
    run_dir, ids = run
    with Archive.open(run_dir) as archive:
        fix = archive.add_agent(
            "Broken Indexer, fixed twice",
            "def forward(self, taskInfo):\n    return [][0]\n",
            parents=[ids["Broken Indexer"]],
            generation=1,
            meta={"attempt": 2, "error": "IndexError: list index out of range"},
        )
        archive.set_status(fix.id, "failed")
        html = build_report(archive)
    failures = html[html.index('id="failures"') : html.index('id="manual"')]
    assert "(fix 2)" in failures

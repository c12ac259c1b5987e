"""Reading the meta agent's replies: tolerant of fences, bare code and replies without code."""

from __future__ import annotations

from agentkit.search import extract_code
from agentkit.search._meta import Proposal, _proposal


def test_code_field_with_fences_is_unwrapped() -> None:
    fields = {
        "thought": "t",
        "name": "N",
        "code": "```python\ndef forward(self, taskInfo):\n    return 1\n```",
    }
    proposal = _proposal(fields, raw="{}", parse_error=None, fallback_name="X")
    assert proposal.code == "def forward(self, taskInfo):\n    return 1"
    assert proposal.problem is None and proposal.name == "N"


def test_code_outside_the_json_is_still_found() -> None:
    raw = "Sure! Here it is:\n```py\ndef forward(self, taskInfo):\n    return 2\n```\nHope it helps."
    proposal = _proposal({}, raw=raw, parse_error="no JSON object", fallback_name="Agent g1-0")
    assert proposal.code == "def forward(self, taskInfo):\n    return 2"
    assert proposal.name == "Agent g1-0"
    bare = _proposal(
        {}, raw="Plan:\ndef forward(self, taskInfo):\n    return 3\n", parse_error="x", fallback_name="Y"
    )
    assert bare.code.startswith("def forward(self, taskInfo):")


def test_a_reply_without_code_is_a_problem_not_an_exception() -> None:
    proposal = _proposal(
        {"name": "Only a name"}, raw='{"name": "Only a name"}', parse_error="missing code", fallback_name="X"
    )
    assert proposal.code == "" and proposal.problem is not None and "missing code" in proposal.problem


def test_extract_code_and_reply_round_trip() -> None:
    assert extract_code("  def forward(self, t):\n    return t\n") == "def forward(self, t):\n    return t"
    p = Proposal(thought="why", name="N", code="def forward(self, t):\n    return t", raw="")
    assert '"code": "def forward' in p.as_reply()


def test_a_workflow_reply_with_a_raw_line_break_in_a_string_is_a_workflow() -> None:
    from agentkit.search._meta import _workflow_proposal

    raw = (
        '{"thought": "t", "name": "n", "first": {"op": "verify", "retries": 1}, '
        '"then": [{"op": "step_back", "instruction": "Evaluate it.\nThen improve."}]}'
    )
    proposal = _workflow_proposal(raw, "fallback")
    assert proposal.problem is None
    assert proposal.workflow is not None and [s["op"] for s in proposal.workflow["steps"]] == [
        "verify",
        "step_back",
    ]

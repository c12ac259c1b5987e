"""`check_agent_code`: static checks the search runs before spending model calls."""

from __future__ import annotations

import pytest

from agentkit.runtime import check_agent_code, load_seed_agents

GOOD = """
import json
from concurrent.futures import ThreadPoolExecutor

ROUNDS = 2

def forward(self, taskInfo):
    agent = LLMAgentBase(['thinking', 'answer'], 'A')
    results = [agent([taskInfo], 'go', i) for i in range(ROUNDS)]
    try:
        best = majority_vote([a for _, a in results])
    except LLMCallError as exc:
        best = str(exc)
    match best:
        case Info(content=text):
            pass
        case other:
            text = other
    return ask(taskInfo, json.dumps(text), fields={'answer': 'x'})['answer'] + run_python('answer = 1')
"""


def test_good_code_and_every_seed_pass(adas_style_agent: str) -> None:
    assert check_agent_code(GOOD) == []
    assert check_agent_code(adas_style_agent) == []
    for seed in load_seed_agents():
        assert check_agent_code(seed.code) == [], seed.key
        assert check_agent_code(seed.path.read_text()) == [], seed.key


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("def forward(self, taskInfo)\n    return 1\n", "SyntaxError"),
        ("def solve(self, taskInfo):\n    return 1\n", "defines no top-level function forward"),
        ("def forward(self, t):\n    return 1\ndef forward(self, t):\n    return 2\n", "defined 2 times"),
        ("async def forward(self, taskInfo):\n    return 1\n", "not `async def`"),
        ("def forward(taskInfo):\n    return 1\n", "exactly two arguments"),
        ("def forward(self, taskInfo, extra):\n    return 1\n", "exactly two arguments"),
        (
            "def forward(self, taskInfo):\n    LLMAgentBase(['answer'], 'A')([taskInfo], 'x')\n",
            "never returns",
        ),
        (
            "def forward(self, taskInfo):\n    agent = LLMAgent(['answer'], 'A')\n    return agent\n",
            "line 2: name 'LLMAgent' is not defined",
        ),
        ("def forward(self, taskInfo):\n    return answr\n", "name 'answr' is not defined"),
        ("import os\ndef forward(self, taskInfo):\n    return os.environ\n", "may not import 'os'"),
        ("def forward(self, taskInfo):\n    import socket\n    return 1\n", "may not import 'socket'"),
        ("from math import *\ndef forward(self, taskInfo):\n    return pi\n", "import *"),
        ("def forward(self, taskInfo):\n    return 1\nprint(forward(None, None))\n", "line 3: top-level"),
    ],
)
def test_bad_code_is_flagged(code: str, expected: str) -> None:
    problems = check_agent_code(code)
    assert any(expected in p for p in problems), problems


def test_nested_function_returns_do_not_count_for_forward() -> None:
    code = "def forward(self, taskInfo):\n    def helper():\n        return 1\n    helper()\n"
    assert any("never returns" in p for p in check_agent_code(code))

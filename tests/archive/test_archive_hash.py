"""The normalised-code hash ignores layout, comments and docstrings and nothing else."""

from __future__ import annotations

from agentkit.archive import normalise_code, normalised_code_hash

BASE = '''def forward(self, taskInfo):
    """Solve it."""
    agent = LLMAgentBase(["answer"], "A")
    return agent([taskInfo], "Answer.")[0]
'''

RESHAPED = '''# a leading comment
def forward(self,   taskInfo):   # trailing comment
    """A different docstring,
    over two lines."""

    agent = LLMAgentBase( [ 'answer' ],
                         'A' )


    return agent([taskInfo], 'Answer.')[0]   # same thing
'''


def test_layout_comments_and_docstrings_do_not_matter() -> None:
    assert normalised_code_hash(BASE) == normalised_code_hash(RESHAPED)
    no_doc = BASE.replace('    """Solve it."""\n', "")
    assert normalised_code_hash(BASE) == normalised_code_hash(no_doc)


def test_class_and_module_docstrings_are_dropped() -> None:
    a = '"""Module doc."""\nclass A:\n    """Doc."""\n    x = 1\n'
    b = "class A:\n    x = 1\n"
    assert normalised_code_hash(a) == normalised_code_hash(b)
    # A function whose body is only a docstring stays valid code.
    assert normalise_code('def f():\n    """only a docstring"""\n') == "def f():\n    pass"


def test_real_changes_change_the_hash() -> None:
    h = normalised_code_hash(BASE)
    assert normalised_code_hash(BASE.replace('"Answer."', '"Answer briefly."')) != h
    assert normalised_code_hash(BASE.replace("agent", "solver")) != h
    assert normalised_code_hash(BASE.replace("[0]", "[-1]")) != h
    # A string statement that is not a docstring is code that stays.
    assert normalised_code_hash(BASE.replace("    return", '    "note"\n    return')) != h


def test_unparseable_code_falls_back_to_whitespace_insensitive_text() -> None:
    broken = "def forward(self, taskInfo)\n    return  1\n"
    assert normalised_code_hash(broken) == normalised_code_hash("def forward(self,  taskInfo)\n return 1")
    assert normalised_code_hash(broken) != normalised_code_hash(broken.replace("1", "2"))
    assert normalised_code_hash("x = 1\x00") == normalised_code_hash("x =  1\x00")
    assert len(normalised_code_hash(broken)) == 64

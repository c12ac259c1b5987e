"""Scorers: small functions from (model output, target) to a score in [0, 1].

Every scorer first finds the *final answer* in the output (`extract_final_answer`), then applies its
own comparison rule. The rules are written in each function's docstring and tested on the real data.
All give 1.0 (right) or 0.0 (wrong) except ``f1`` (DROP's token F1, partial credit in between).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from agentkit.errors import TaskError
from agentkit.tasks._drop import accepted_answers, max_f1

Scorer = Callable[[str | None, str], float]

# "So the answer is", "The final answer is:", "Answer:", "answer -", and GSM8K's "####".
_MARKER = re.compile(r"(?:\banswer\b\s*(?:is\b\s*:?|:|-)|####)\s*", re.IGNORECASE)
# A period followed by white space ends the answer sentence; a period inside "18.5" or "D.C." does not.
_SENTENCE_END = re.compile(r"\.\s")
_WRAPPERS = ("**", "__", "*", "`", '"', "'", "“", "”")


def _last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (nested braces allowed), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth = 0
    begin = start + len("\\boxed{")
    for i in range(begin, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            if depth == 0:
                return text[begin:i]
            depth -= 1
    return text[begin:]


def _clean(answer: str) -> str:
    s = answer.strip()
    changed = True
    while changed and s:
        changed = False
        for w in _WRAPPERS:
            if len(s) >= 2 * len(w) and s.startswith(w) and s.endswith(w):
                s = s[len(w) : -len(w)].strip()
                changed = True
        if s.startswith("“") and s.endswith("”"):
            s = s[1:-1].strip()
            changed = True
        if s.endswith("."):
            s = s[:-1].rstrip()
            changed = True
    return s


def answer_candidates(output: str | None) -> list[str]:
    """The readings of the final answer in `output`, most specific first (see `extract_final_answer`)."""
    if output is None:
        return []
    text = output.strip()
    if not text:
        return []
    boxed = _last_boxed(text)
    if boxed is not None:
        return [_clean(boxed)]
    markers = list(_MARKER.finditer(text))
    if markers:
        rest = text[markers[-1].end() :]
        line = rest.strip().split("\n", 1)[0] if rest.strip() else ""
    else:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        line = lines[-1]
    sentence = _SENTENCE_END.split(line, maxsplit=1)[0]
    out: list[str] = []
    for cand in (_clean(sentence), _clean(line)):
        if cand not in out:
            out.append(cand)
    return out


def extract_final_answer(output: str | None) -> str:
    """The final answer stated in a model output.

    Rules, in order:
    1. the content of the last ``\\boxed{...}``, if any;
    2. else the text after the last answer marker (``answer is``, ``answer:``, ``####``; any case, so
       "So the answer is", "The final answer is:" and "Answer:" all count), up to the end of its line
       and the end of its sentence (a period followed by white space);
    3. else the last non-empty line.
    The result is stripped of white space, of wrapping ``**``/``*``/backticks/quotes and of a trailing
    period. None or an empty output gives "".
    """
    cands = answer_candidates(output)
    return cands[0] if cands else ""


# --- numbers ------------------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?<![\w.])"  # not glued to a word or another number
    r"(?P<sign>[-−])?"
    r"\$?\s?"
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)"
    r"(?P<frac>\.\d+)?"
)


def _numbers(text: str) -> list[Fraction]:
    found: list[Fraction] = []
    # "-$5" and "$-5" both mean minus five.
    text = text.replace("$-", "-$").replace("$−", "-$")
    for m in _NUMBER.finditer(text):
        digits = m.group("int").replace(",", "") + (m.group("frac") or "")
        try:
            value = Fraction(Decimal(digits))
        except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
            continue
        # A minus right after an operand ("3 - 5") is subtraction, not the sign of 5.
        before = text[: m.start()].rstrip()
        negative = bool(m.group("sign")) and not (before and (before[-1].isdigit() or before[-1] in ")]"))
        found.append(-value if negative else value)
    return found


def parse_number(text: str) -> Fraction | None:
    """The last number written in `text` as an exact fraction (``"$1,080.00"`` -> 1080), or None."""
    nums = _numbers(text)
    return nums[-1] if nums else None


def final_number(output: str | None) -> Fraction | None:
    """The final number of a model output.

    The last number inside the last ``\\boxed{}``; else the first number of the answer sentence after
    the last answer marker (``answer is``, ``Answer:``, ``####``), or after its last ``=`` if it has one
    ("The answer is 18, not 20" is 18; "The answer is 3 * 6 = 18" is 18); else the last number anywhere
    in the output. ``$`` signs, thousands commas (``1,080``) and a trailing period are ignored; a leading minus
    makes it negative unless it follows an operand (``10-5`` is five, not minus five).
    """
    if output is None:
        return None
    text = output.strip()
    boxed = _last_boxed(text)
    if boxed is not None:
        return parse_number(boxed)
    markers = list(_MARKER.finditer(text))
    if markers:
        rest = text[markers[-1].end() :].strip()
        line = rest.split("\n", 1)[0]
        sentence = _SENTENCE_END.split(line, maxsplit=1)[0]
        # "The answer is 3 * 6 = 18": the result follows the last "=".
        nums = _numbers(sentence.rsplit("=", 1)[-1])
        if nums:
            return nums[0]
    return parse_number(text)


def score_numeric(output: str | None, target: str) -> float:
    """Numeric exact match (GSM8K, MGSM, numeric BBH tasks, ``gen/arithmetic``, ``gen/object-counting``).

    The output's `final_number` must equal the target's number exactly: ``18``, ``18.0``, ``$18``,
    ``18.``, ``Answer: 18``, ``\\boxed{18}`` and "So the answer is 18." all match ``18``; ``1,080``
    matches ``1080``; ``-5`` matches ``-5`` and not ``5``. Comparison is exact (fractions), not float.
    """
    gold = parse_number(target)
    pred = final_number(output)
    return 1.0 if gold is not None and pred is not None and pred == gold else 0.0


APPROX_ABS_TOLERANCE = 0.1
"""Largest absolute difference `score_numeric_approx` accepts (ADAS's rule for GSM-Hard)."""
APPROX_REL_TOLERANCE = 0.05
"""For targets below 1 in size, the largest difference relative to the target."""


def score_numeric_approx(output: str | None, target: str) -> float:
    """Numeric match with a small tolerance (GSM-Hard, whose targets are floats computed by programs,
    e.g. ``14053029.666666666``).

    The output's `final_number` must be within ``min(0.1, 0.05 * |target|)`` of the target's number:
    0.1 absolute as ADAS scored GSM-Hard, tightened for small targets so that ``0`` does not match
    ``0.0017`` (a target of exactly 0 needs exactly 0). ``14053029.67`` matches ``14053029.666666666``;
    ``14053030`` does not.
    """
    gold = parse_number(target)
    pred = final_number(output)
    if gold is None or pred is None:
        return 0.0
    tolerance = min(Fraction(str(APPROX_ABS_TOLERANCE)), Fraction(str(APPROX_REL_TOLERANCE)) * abs(gold))
    return 1.0 if abs(pred - gold) <= tolerance else 0.0


def score_f1(output: str | None, target: str) -> float:
    """DROP's token F1 (`agentkit.tasks._drop`), in [0, 1]: partial credit for partial answers.

    The target lists the accepted answers separated by ``|``; the score is the best F1 of the output's
    final-answer readings (`answer_candidates`) against any accepted answer. Lower case, punctuation,
    the articles a/an/the and number formats (``4`` = ``4.0``, ``1,000`` = ``1000``) do not matter; a
    wrong number scores 0 ("35 yards" against "34 yards").
    """
    return max_f1(answer_candidates(output), accepted_answers(target))


# --- multiple choice ----------------------------------------------------------------------------------

_TARGET_LETTER = re.compile(r"^\(([A-Z])\)$")
_CHOICE_PATTERNS = (
    re.compile(r"^(?:option|choice)?\s*\(([A-Za-z])\)", re.IGNORECASE),  # "(A)", "(a) The Front Page"
    re.compile(r"^(?:option|choice)?\s*([A-Z])\)"),  # "A)", "A) The Front Page"
    re.compile(r"^(?:option|choice)?\s*([A-Z])(?:[.:]\s.*)?$", re.IGNORECASE),  # "A", "B: The Lion King"
)


def choice_letter(answer: str) -> str | None:
    """The option letter an extracted answer names, as ``"(A)"``; None when it names none.

    Accepted: ``(A)``, ``A``, ``A)``, ``(A) option text``, ``A) option text``, ``A: text``, ``A. text``,
    each optionally after "option"/"choice". A bare lower-case letter counts only after "option".
    """
    s = answer.strip()
    for i, pattern in enumerate(_CHOICE_PATTERNS):
        m = pattern.match(s)
        if m is None:
            continue
        letter = m.group(1)
        # A bare lower-case "a" is an English word, not a choice, unless introduced as an option.
        if i == 2 and letter.islower() and not re.match(r"(?i)^(option|choice)", s):
            continue
        return f"({letter.upper()})"
    return None


def _norm_text(s: str) -> str:
    return " ".join(_clean(s).casefold().split())


def score_multiple_choice(output: str | None, target: str) -> float:
    """Multiple-choice match for BBH tasks whose targets are option letters like ``(A)``.

    The final answer (`extract_final_answer`) is reduced to an option letter by `choice_letter`, so
    ``(A)``, ``A``, ``A)``, "So the answer is (A)." and "The answer is A" all mean ``(A)``; it must equal
    the target letter. When the target is not a letter (3 BBH rows: ``Monsters, Inc`` and two
    ``ruin_names`` titles), the answer text must equal the target ignoring case, surrounding white space
    and a trailing period; the matching option letter is accepted through `Task.extra_answers`.
    """
    cands = answer_candidates(output)
    m = _TARGET_LETTER.match(target.strip())
    if m is None:
        gold = _norm_text(target)
        return 1.0 if any(_norm_text(c) == gold for c in cands) else 0.0
    for cand in cands:
        letter = choice_letter(cand)
        if letter is not None:
            return 1.0 if letter == target.strip() else 0.0
    return 0.0


def score_label(output: str | None, target: str) -> float:
    """Closed label sets (``Yes``/``No``, ``yes``/``no``, ``True``/``False``, ``valid``/``invalid``).

    The final answer must equal the target ignoring case: the label set is closed, so case carries no
    meaning (BBH mixes ``Yes`` and ``yes`` across tasks). ``invalid`` never matches ``valid``.
    """
    gold = target.strip().casefold()
    return 1.0 if any(c.casefold() == gold for c in answer_candidates(output)) else 0.0


def score_words(output: str | None, target: str) -> float:
    """Word lists (BBH ``word_sorting``, ``gen/word-sorting``).

    The final answer, split on white space and commas, must equal the target's words in the same order
    (case-sensitive, since the words are given). Spacing and comma separators do not matter.
    """
    gold = target.replace(",", " ").split()
    for cand in answer_candidates(output):
        if cand.replace(",", " ").split() == gold:
            return 1.0
    return 0.0


def score_dyck(output: str | None, target: str) -> float:
    """Bracket sequences (BBH ``dyck_languages``, ``gen/dyck``).

    The final answer with all white space and commas removed must equal the target with all white space
    removed: ``] ) >``, ``])>`` and ``], ), >`` all match ``] ) >``.
    """
    gold = "".join(target.split())
    for cand in answer_candidates(output):
        if "".join(cand.replace(",", " ").split()) == gold:
            return 1.0
    return 0.0


def score_exact(output: str | None, target: str) -> float:
    """Exact string match of the final answer (`extract_final_answer`) with the target.

    Case-sensitive; white space around, wrapping quotes/markdown and a trailing period are ignored on
    both sides. The default for custom JSONL tasks.
    """
    gold = _clean(target)
    return 1.0 if gold in answer_candidates(output) else 0.0


def score_exact_ci(output: str | None, target: str) -> float:
    """As `score_exact`, but also ignoring case and runs of white space."""
    gold = _norm_text(target)
    return 1.0 if any(_norm_text(c) == gold for c in answer_candidates(output)) else 0.0


SCORERS: dict[str, Scorer] = {
    "numeric": score_numeric,
    "numeric_approx": score_numeric_approx,
    "f1": score_f1,
    "multiple_choice": score_multiple_choice,
    "label": score_label,
    "words": score_words,
    "dyck": score_dyck,
    "exact": score_exact,
    "exact_ci": score_exact_ci,
}
"""Every scorer by the name a `Task` records in `scorer_name`."""


def get_scorer(name: str) -> Scorer:
    """The scorer called `name`; TaskError naming the known scorers otherwise."""
    try:
        return SCORERS[name]
    except KeyError:
        raise TaskError(f"unknown scorer {name!r}; known: {', '.join(sorted(SCORERS))}") from None

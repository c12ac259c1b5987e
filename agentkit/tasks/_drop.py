"""DROP's answer F1: the published normalisation and bag-of-tokens F1, written out here.

This follows the metric published with DROP (Dua et al. 2019) and used by ADAS for its reading
comprehension domain, for one predicted span against one gold span:

1. split the text on single spaces and hyphens;
2. per token: lower-case it; unless it reads as a number, remove punctuation; a token that reads as a
   number (Python's ``float``) is written as that float (``"4"``, ``"4.0"`` and ``"1,000"`` after
   punctuation removal become ``"4.0"``, ``"4.0"``, ``"1000.0"``); remove the articles a/an/the;
   collapse white space; drop empty tokens. As published, a token that is not a number loses its
   decimal point with the rest of its punctuation: ``"26.7%"`` becomes ``"267"``, not 26.7;
3. the bags are the *sets* of tokens of each side;
4. when the gold bag holds numbers and the predicted bag shares none of them, the F1 is 0 (a wrong
   number is wrong, whatever words surround it);
5. otherwise precision and recall of the shared tokens (an empty bag has precision/recall 1), their
   harmonic mean, rounded to 2 decimals as the published script does.

An example's score is the maximum over its accepted answers (`max_f1`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)
_SPLIT = re.compile(" |-")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _normalise_token(token: str) -> str:
    text = token.lower()
    if not _is_number(text):
        text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    if _is_number(text):
        text = str(float(text))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def normalise_answer(text: str) -> str:
    """`text` normalised as DROP's metric does (steps 1 and 2 of the module docstring)."""
    parts = [_normalise_token(token) for token in _SPLIT.split(text)]
    return " ".join(part for part in parts if part.strip()).strip()


def _bag(text: str) -> set[str]:
    return set(normalise_answer(text).split())


def drop_f1(prediction: str, gold: str) -> float:
    """DROP's F1 of one predicted answer against one gold answer, in [0, 1] (2 decimals).

    >>> drop_f1("the Chicago Bears", "Bears"), drop_f1("34 yards", "34"), drop_f1("35 yards", "34 yards")
    (0.67, 0.67, 0.0)
    """
    predicted, wanted = _bag(prediction), _bag(gold)
    gold_numbers = {t for t in wanted if _is_number(t)}
    if gold_numbers and not gold_numbers & {t for t in predicted if _is_number(t)}:
        return 0.0
    shared = len(predicted & wanted)
    precision = shared / len(predicted) if predicted else 1.0
    recall = shared / len(wanted) if wanted else 1.0
    if precision == 0.0 and recall == 0.0:
        return 0.0
    return round(2 * precision * recall / (precision + recall), 2)


def max_f1(predictions: Iterable[str], golds: Iterable[str]) -> float:
    """The best `drop_f1` over every (prediction, gold) pair; 0.0 when either side is empty. Blank gold
    answers are skipped, as in the published script."""
    wanted = [g for g in golds if g.strip()]
    return max((drop_f1(p, g) for p in predictions for g in wanted), default=0.0)


ANSWER_SEPARATOR = "|"
"""Separates the accepted answers of one example in a target (``"Pakistanis and Filipinos|Pakistani
and Filipino"``), as in the ``ref_text`` field of ADAS's DROP file."""


def accepted_answers(target: str) -> list[str]:
    """The accepted answers written in a target: split on ``|``, stripped, blanks and repeats left out."""
    out: list[str] = []
    for part in target.split(ANSWER_SEPARATOR):
        answer = part.strip()
        if answer and answer not in out:
            out.append(answer)
    return out

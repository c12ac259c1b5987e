"""Finding and reading benchmark files: the data directory, our own line checks, then `datasets`.

Where local data is looked for, first match wins:
1. the ``data_dir=`` argument (the CLI's ``--data-dir``), and only it when given;
2. else ``$AGENTKIT_DATA_DIR``, and only it when set;
3. else, as a convenience for a checkout next to the shared data, ``../shared/data`` relative to the
   current working directory and then relative to the repository holding this package.
Every directory is laid out like ``../shared/data``: ``gsm8k/{train,test}.jsonl``, ``mgsm/mgsm_en.tsv``,
``bbh/<task>.json``, ``drop/drop_v0_dev.jsonl.gz``, ``gsm-hard/gsmhardv2.jsonl``, ``svamp/SVAMP.json``,
``asdiv/ASDiv.xml``.

Without local files the Hugging Face hub is used when it is reachable (and ``HF_HUB_OFFLINE``,
``HF_DATASETS_OFFLINE`` and ``AGENTKIT_OFFLINE`` are unset); otherwise one `DatasetNotFound` says how to
point agentkit at the data. Files are checked line by line by our own code before `datasets` reads them,
so a malformed line is reported as ``file:line`` by a `DatasetFormatError`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from agentkit.errors import DatasetFormatError, DatasetNotFound

ENV_DATA_DIR = "AGENTKIT_DATA_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_OFFLINE_VARS = ("AGENTKIT_OFFLINE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
_HOW_TO_FIX = (
    f"Pass --data-dir DIR (data_dir= in Python) or set {ENV_DATA_DIR} to a folder laid out like "
    "../shared/data (gsm8k/train.jsonl, gsm8k/test.jsonl, mgsm/mgsm_en.tsv, bbh/<task>.json)."
)


def data_dirs(data_dir: Path | str | None = None) -> list[Path]:
    """The directories searched for local data, in order (see the module docstring)."""
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return [Path(env).expanduser()]
    out: list[Path] = []
    for base in (Path.cwd(), _REPO_ROOT):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate not in out:
            out.append(candidate)
    return out


def find_local(relpath: str, data_dir: Path | str | None = None) -> Path | None:
    """The first existing file `relpath` under the searched data directories, or None."""
    for base in data_dirs(data_dir):
        path = base / relpath
        if path.is_file():
            return path
    return None


def not_found(what: str, relpath: str, data_dir: Path | str | None, *, hub: bool = True) -> DatasetNotFound:
    """The one error raised when data is neither local nor downloadable (`hub`: whether the task has a
    hub source that was ruled out because we are offline)."""
    searched = ", ".join(str(d) for d in data_dirs(data_dir))
    why = "the Hugging Face hub is not available (offline)" if hub else "it is only read from local files"
    return DatasetNotFound(f"no data for {what}: {relpath} is not under {searched}, and {why}. {_HOW_TO_FIX}")


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("0", "false", "no", "off", "")


@cache
def _hub_reachable() -> bool:
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=2.0):
            return True
    except OSError:
        return False


def declared_offline() -> bool:
    """True when ``AGENTKIT_OFFLINE``, ``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE`` is set to a true value."""
    return any(_truthy(os.environ.get(var)) for var in _OFFLINE_VARS)


def hub_allowed() -> bool:
    """True when downloading from the Hugging Face hub may be tried: not `declared_offline`, and
    huggingface.co answers a TCP connect within 2 s (probed once per process)."""
    return not declared_offline() and _hub_reachable()


def _datasets() -> Any:
    import datasets

    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()
    return datasets


# --- our own checks -----------------------------------------------------------------------------------


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def _missing(field: str, row: Mapping[str, Any], option: str | None) -> str:
    has = ", ".join(repr(key) for key in list(row)[:8]) or "no fields"
    found = f"missing field {field!r} (the line has {has})"
    if option is None:
        return found
    return f"{found}; name the field with the task option {option}=NAME (on the command line: --opt {option}=NAME)"


class _RepeatedKey(ValueError):
    """A JSON object names a key twice (json keeps the last; datasets refuses the file)."""


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


def json_problem(exc: json.JSONDecodeError) -> str:
    """What is wrong with a line or file that is not JSON, with the column (``json`` puts the position
    after its message, which then ends in a bare "at")."""
    return f"invalid JSON: {exc.msg.removesuffix(' at')} (column {exc.colno})"


def utf8_problem(exc: UnicodeDecodeError) -> str:
    """What is wrong with bytes that are not UTF-8 text."""
    return f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at column {exc.start + 1})"


def check_jsonl(path: Path, required: Sequence[str], options: Mapping[str, str] | None = None) -> list[int]:
    """Check a JSONL file line by line; return the 1-based line number of each row.

    Every non-blank line must be a JSON object having the `required` fields, and a field must keep one
    JSON type across rows (``datasets`` cannot mix a number and a string in a column). Raises
    `DatasetFormatError` naming the file and line otherwise; for a missing field it lists the fields the
    line has, and `options` (required field -> the task option that names it) says which option to set.
    """
    lines: list[int] = []
    kinds: dict[str, tuple[str, int]] = {}
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DatasetFormatError(f"cannot read: {exc}", path=str(path)) from exc
    with handle:
        for lineno, data in enumerate(handle, start=1):
            try:
                raw = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetFormatError(utf8_problem(exc), path=str(path), line=lineno) from None
            if not raw.strip():
                continue
            try:
                # without its line break, an unclosed object is said where the line ends, not at column 1
                row = json.loads(raw.rstrip("\r\n"), object_pairs_hook=_no_repeated_keys)
            except json.JSONDecodeError as exc:
                raise DatasetFormatError(json_problem(exc), path=str(path), line=lineno) from None
            except _RepeatedKey as exc:
                raise DatasetFormatError(
                    f"the key {exc.args[0]!r} appears twice in one object", path=str(path), line=lineno
                ) from None
            if not isinstance(row, dict):
                raise DatasetFormatError("a line must hold a JSON object", path=str(path), line=lineno)
            for field in required:
                if field not in row or row[field] is None:
                    raise DatasetFormatError(
                        _missing(field, row, (options or {}).get(field)), path=str(path), line=lineno
                    )
            for key, value in row.items():
                kind = _kind(value)
                if kind is None:
                    continue
                seen = kinds.setdefault(key, (kind, lineno))
                if seen[0] != kind:
                    raise DatasetFormatError(
                        f"field {key!r} is a {kind} here but a {seen[0]} on line {seen[1]}",
                        path=str(path),
                        line=lineno,
                    )
            lines.append(lineno)
    if not lines:
        raise DatasetFormatError("the file holds no rows", path=str(path))
    return lines


def check_bbh_json(path: Path) -> int:
    """Check a BBH task file (``{"examples": [{"input", "target"}, ...]}``); return its row count."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetFormatError(json_problem(exc), path=str(path), line=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise DatasetFormatError(utf8_problem(exc), path=str(path)) from None
    except OSError as exc:
        raise DatasetFormatError(f"cannot read: {exc}", path=str(path)) from exc
    examples = doc.get("examples") if isinstance(doc, dict) else None
    if not isinstance(examples, list) or not examples:
        raise DatasetFormatError("expected an object with a non-empty 'examples' list", path=str(path))
    for i, row in enumerate(examples):
        if not (
            isinstance(row, dict) and isinstance(row.get("input"), str) and isinstance(row.get("target"), str)
        ):
            raise DatasetFormatError(
                f"examples[{i}] needs string fields 'input' and 'target'", path=str(path)
            )
    return len(examples)


# --- reading ------------------------------------------------------------------------------------------


def read_json_rows(path: Path, *, field: str | None = None) -> list[dict[str, Any]]:
    """Rows of a checked JSON/JSONL file, read through ``datasets.load_dataset("json", ...)``.

    Its cache is kept per content of the file: datasets knows a local file by its path and modification
    time, so a file rewritten with its old time (``cp -p``, ``rsync -a``, ``tar x``, a second-resolution
    filesystem) would be read from the cache as it was before, and scored so without a word. Each
    version of a file's content keeps its own cache folder (under datasets' cache, ``agentkit-local``),
    left for datasets' cache cleaning like the rest."""
    datasets = _datasets()
    try:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()[:24]
    except OSError as exc:
        raise DatasetFormatError(f"cannot read: {exc}", path=str(path)) from exc
    cache_dir = Path(datasets.config.HF_DATASETS_CACHE) / "agentkit-local" / digest
    try:
        kwargs: dict[str, Any] = {"data_files": str(path), "split": "train", "cache_dir": str(cache_dir)}
        if field is not None:
            kwargs["field"] = field
        ds = datasets.load_dataset("json", **kwargs)
    except Exception as exc:  # datasets raises many types; the caller gets one of ours
        raise DatasetFormatError(
            f"datasets could not read it: {type(exc).__name__}: {exc}", path=str(path)
        ) from exc
    rows: list[dict[str, Any]] = ds.to_list()
    return rows


def read_hub_rows(hub_id: str, config: str | None, split: str) -> list[dict[str, Any]]:
    """Rows of a hub dataset split; `DatasetNotFound` when the download fails."""
    datasets = _datasets()
    try:
        ds = datasets.load_dataset(hub_id, config, split=split)
    except Exception as exc:
        raise DatasetNotFound(
            f"could not load {hub_id} ({config}, {split}) from the Hugging Face hub: "
            f"{type(exc).__name__}: {exc}. {_HOW_TO_FIX}"
        ) from exc
    rows: list[dict[str, Any]] = ds.to_list()
    return rows


def read_tsv_pairs(path: Path) -> list[tuple[str, str]]:
    """Rows of a headerless two-column TSV (MGSM), read with ``csv`` and no quoting, as the data README
    prescribes; a row without exactly two columns is a `DatasetFormatError` with its line."""
    rows: list[tuple[str, str]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for lineno, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not row:
                continue
            if len(row) != 2:
                raise DatasetFormatError(
                    f"expected 2 tab-separated columns, found {len(row)}", path=str(path), line=lineno
                )
            rows.append((row[0], row[1]))
    return rows


def count_rows(path: Path) -> int:
    """Non-blank lines of a text file: the row count of a JSONL or TSV file, read cheaply."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())

"""Every file in shared/real-exports against its hand-written answer key (issue 12, item 9).

Two runs per key, as a person makes them: `leadup validate` (here the library call behind
it, `uploader.run.preview`, whose mapping, results file and sample bodies are data), then
`leadup upload` as a subprocess against the sandbox on a loopback port. The first checks
where every column goes and every row's fate before anything is sent; the second checks
every row's results line and the JSON bodies the sandbox received, field by field.

The files are byte-for-byte copies of `../shared/real-exports` (kept in `corpus/` so that a
clone anywhere has them; `$LEADUP_REAL_EXPORTS` points elsewhere, and where the shared folder
sits beside the checkout a test checks the copies are still identical to it); each test copies
its file into its own temporary folder, so nothing is written beside the originals, and checks
the copy's md5 against the key.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.real_exports.keys import (
    CREATED,
    REJECTED,
    Key,
    ca500,
    datablist,
    fakenamegen,
    salesforce_leads,
    salesforce_sparse,
    uk500,
    us500,
)
from tests.support.cli import KEY, SECRET, env_for, leadup
from uploader.journal.results import read_results
from uploader.model import STANDARD_FIELDS
from uploader.run.preview import preview
from uploader.sandbox import SandboxConfig, sandbox_in_thread
from uploader.settings import PrepareOptions, ReadOptions

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "real-exports"
EXPORTS = Path(os.environ.get("LEADUP_REAL_EXPORTS") or Path(__file__).parent / "corpus")
KEYS = [
    us500.KEY,
    ca500.KEY,
    uk500.KEY,
    salesforce_leads.KEY,
    salesforce_sparse.AS_IS,
    salesforce_sparse.WITH_ZIP,
    datablist.AS_IS,
    datablist.WITH_ZIP,
    fakenamegen.KEY,
]


def exported(key: Key, folder: Path) -> Path:
    """A copy of the key's file in `folder`, after checking it is the file the key is for."""
    original = EXPORTS / key.file
    if not original.is_file():
        pytest.fail(f"{original} is missing: set LEADUP_REAL_EXPORTS to the real exports")
    copy = folder / key.file
    shutil.copyfile(original, copy)
    assert hashlib.md5(copy.read_bytes()).hexdigest() == key.md5, f"{key.file} changed"
    return copy


def goes_where_expected(expect: str, target: str, why: str) -> bool:
    """Whether a mapping line (`target`, and the evidence `why`) says what the key expects
    (see tests/real_exports/keys/__init__.py for the expectation words)."""
    kind, _, what = expect.partition(":")
    words = target.replace(":", " ").split()
    line = " ".join(words)
    said = f"{target} {why}".lower()
    sent_as_field = bool(words) and (words[0] == "field" or words[0] in STANDARD_FIELDS)
    sent_as_extra = re.search(r"\bextra\b", line) is not None
    unsent = not sent_as_field and not sent_as_extra
    if kind == "field":
        return words[:2] == ["field", what] or words[:1] == [what]
    if kind == "extra":
        return re.search(rf"\bextra {re.escape(what)}(?![\w-])", line) is not None
    if kind == "also":  # a repeated field's later column: an extra, named as taking part
        field, _, key = what.partition(":")
        named = re.search(rf"\b{re.escape(field)}\b", why.lower()) is not None
        return named and goes_where_expected(f"extra:{key}", target, why)
    if kind == "empty":  # no cell has a value: whatever it maps to never shows in a lead
        return unsent or any(
            goes_where_expected(f"{sent}:{what}", target, why) for sent in ("field", "extra")
        )
    if kind == "unsent":
        return unsent
    if kind == "held":
        return unsent and "held" in said and what in said
    if kind == "country":
        return not sent_as_field and "country" in said
    raise AssertionError(f"unknown expectation {expect!r}")


def check_row(key: Key, row: int, line: dict[str, str], *, sent: bool) -> list[str]:
    """What is wrong with one results line (empty when it matches the key). Before sending
    (`sent` False), a row the API would create or refuse is one that would be sent."""
    want = key.expected(row)
    outcome = want.outcome
    if not sent and outcome in (CREATED, REJECTED):
        outcome = "pending"
    wrong = []
    if line["outcome"] != outcome:
        wrong.append(f"row {row}: {line['outcome']} ({line['error']}), expected {outcome}")
    elif outcome == want.outcome:  # a reason is only known once the row has its outcome
        for reason in want.reasons:
            if reason not in line["error"]:
                wrong.append(f"row {row}: error {line['error']!r} lacks {reason!r}")
    return wrong


def results_by_row(path: Path) -> dict[int, dict[str, str]]:
    _, lines = read_results(path)
    return {int(leading["row"]): leading for leading, _ in lines}


def leaked(key: Key, bodies: list[dict[str, Any]]) -> list[str]:
    """Held-back values found anywhere in the bodies, and compound JSON objects sent."""
    found = []
    for body in bodies:
        for name, value in body.items():
            text = str(value)
            if any(secret in text for secret in key.never_sent):
                found.append(f"{name}={text!r}")
            if text.lstrip().startswith("{"):
                found.append(f"{name}={text[:40]!r} (a JSON object)")
    return found


def held_back(key: Key) -> dict[str, str]:
    """The key's held-back columns and the reason each is held back for."""
    return {c: e.partition(":")[2] for c, e in key.columns.items() if e.startswith("held:")}


def assert_names_held_back(key: Key, output: str) -> None:
    text = " ".join(output.split())
    for column, why in held_back(key).items():
        assert column in text and why in text, (column, why, output)


def test_every_real_export_has_a_key() -> None:
    """Every file SOURCES.md describes, and every other export in the folder, has a key.
    A results file leadup wrote beside an export (a `leadup validate` run there without
    --output) is leadup's output, not an export."""
    sources = (EXPORTS / "SOURCES.md").read_text(encoding="utf-8")
    described = set(re.findall(r"^### (\S+)$", sources, flags=re.MULTILINE))
    present = {
        p.name for p in EXPORTS.iterdir() if p.name != "SOURCES.md" and ".results." not in p.name
    }
    assert described == present == {key.file for key in KEYS}


def test_the_corpus_is_the_shared_exports_byte_for_byte() -> None:
    """The copies in corpus/ are the published files as they are (where the shared folder is
    beside this checkout; a clone elsewhere has only the copies, checked by md5 per key)."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not beside this checkout; corpus/ is checked by md5 per key")
    shared = {p.name: p.read_bytes() for p in SHARED.iterdir() if ".results." not in p.name}
    corpus = {p.name: p.read_bytes() for p in (Path(__file__).parent / "corpus").iterdir()}
    assert shared == corpus


@pytest.mark.parametrize(
    ("expect", "target", "why", "matches"),
    [
        ("field:phone", "field phone", "name + 100% parse as phones", True),
        ("field:phone", "phone", "", True),
        ("field:phone", "extra phone1", "", False),
        ("field:phone", "field phone_extension", "", False),
        ("extra:phone2", "extra phone2", "", True),
        ("extra:phone", "extra phone2", "", False),
        ("extra:phone2", "field phone", "", False),
        ("also:phone:phone2", "extra phone2", 'phone too, used when "phone1" has none', True),
        ("also:phone:phone2", "extra phone2", "not a lead field by its name", False),
        ("also:email:email_2", "extra email_2", "phone too", False),
        ("empty:title", "ignored", "", True),
        ("empty:title", "extra title", "", True),
        ("empty:title", "extra titles", "", False),
        ("unsent", "ignored", "a JSON object: Street is address_1", True),
        ("unsent", "field address_1", "", False),
        ("unsent", "extra address", "", False),
        ("held:card number", "held back", "card number (Luhn-valid digits)", True),
        ("held:card number", "held back", "password", False),
        ("held:password", "ignored", "", False),
        ("held:password", "extra password", "held back: password", False),
        ("country", "extra country", "each row's own country", True),
        ("country", "field state", "", False),
    ],
)
def test_the_mapping_check_tells_apart(expect: str, target: str, why: str, matches: bool) -> None:
    assert goes_where_expected(expect, target, why) is matches


@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.name)
def test_validate_maps_every_column_and_judges_every_row(key: Key, tmp_path: Path) -> None:
    path = exported(key, tmp_path)
    if key.refused:
        done = leadup(
            "validate", str(path), "--output", str(tmp_path / "v.csv"), *key.options(tmp_path)
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert key.refused in done.stdout + done.stderr
        return
    found = preview(
        path,
        read=ReadOptions(),
        prepare=PrepareOptions(country=key.country),
        mapping_path=key.mapping_file(tmp_path),
        output=tmp_path / "validate.results.csv",
        samples=len(key.rows),
    )
    columns = found.detected.columns[: len(key.columns)]  # then any constants
    assert [c.column for c in columns] == list(key.columns), "the header row"
    wrong_columns = [
        f"{c.column!r} -> {c.target!r} ({c.why}), expected {key.columns[c.column]}"
        for c in columns
        if not goes_where_expected(key.columns[c.column], c.target, c.why)
    ]
    assert not wrong_columns, "\n".join(wrong_columns)

    lines = results_by_row(found.results_path)
    assert sorted(lines) == list(key.rows)
    wrong_rows = [w for row in key.rows for w in check_row(key, row, lines[row], sent=False)]
    assert not wrong_rows, f"{len(wrong_rows)} rows differ:\n" + "\n".join(wrong_rows[:40])

    bodies = {
        sample["row"]: {k: v for k, v in sample.items() if k != "row"} for sample in found.samples
    }
    assert not leaked(key, list(bodies.values()))
    for row, body in key.payloads.items():
        assert bodies.get(row) == body, f"row {row} would be sent as {bodies.get(row)}"

    if held_back(key):  # what `leadup validate` prints says what is held back and why
        done = leadup(
            "validate", str(path), "--output", str(tmp_path / "cli.results.csv"),
            *key.options(tmp_path), env={"COLUMNS": "300"},
        )  # fmt: skip
        assert_names_held_back(key, done.stdout)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.name)
def test_upload_gives_every_row_its_outcome_and_sends_the_exact_leads(
    key: Key, tmp_path: Path
) -> None:
    path = exported(key, tmp_path)
    results = tmp_path / "out" / "leads.results.csv"
    options = key.options(tmp_path)
    with sandbox_in_thread(SandboxConfig(api_key=KEY, api_secret=SECRET)) as sandbox:
        done = leadup(
            "upload", str(path), "--output", str(results), "--rate", "500", *options,
            env=env_for(sandbox, COLUMNS="300"), timeout=200,
        )  # fmt: skip
        received = {lead.lead_public_id: lead.payload for lead in sandbox.state.leads}
        requests = len(sandbox.state.requests)
    if key.refused:
        assert done.returncode == 2, done.stdout + done.stderr
        assert key.refused in done.stdout + done.stderr
        assert requests == 0
        return
    assert_names_held_back(key, done.stdout)  # the summary says what was held back and why
    every_row_created = key.created_count == len(key.rows)
    assert done.returncode == (0 if every_row_created else 1), done.stdout + done.stderr

    lines = results_by_row(results)
    assert sorted(lines) == list(key.rows)
    wrong_rows = [w for row in key.rows for w in check_row(key, row, lines[row], sent=True)]
    assert not wrong_rows, f"{len(wrong_rows)} rows differ:\n" + "\n".join(wrong_rows[:40])

    assert len(received) == key.created_count
    assert not leaked(key, list(received.values()))
    if key.bodies_reach_sandbox:
        for row, body in key.payloads.items():
            assert received[lines[row]["lead_public_id"]] == body, f"row {row}"

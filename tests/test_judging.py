"""Columns judged by name and sampled values; each row's own country; rows nobody can reach
(issue 12). The real exports' answer keys are in tests/real_exports/; these are the rules one
at a time, on small files the sandbox-free Preparer reads."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uploader.model import Lead, RowResult
from uploader.prepare.mapping import auto_map, mapping_from_dict
from uploader.prepare.normalise import Preparer
from uploader.prepare.profile import kinds_of, luhn_valid
from uploader.read import find_header_row, open_table
from uploader.run.load import file_read, map_columns
from uploader.settings import PrepareOptions

DEFAULT = PrepareOptions()


def _prepared(
    path: Path, text: str, options: PrepareOptions = DEFAULT, mapping: dict | None = None
) -> list[Lead | RowResult]:
    path.write_text(text, encoding="utf-8")
    table = open_table(path)
    m = (
        mapping_from_dict(mapping, table.columns, "m.toml", table.sample())
        if mapping
        else map_columns(table, None)
    )
    preparer = Preparer(m, table.columns, options, table.sha256)
    return [r for chunk in table.chunks() for r, _ in preparer.prepare(chunk)]


def _why(columns: list[str], rows: list[list[str]]) -> dict[str, tuple[str, str]]:
    sample = [list(col) for col in zip(*rows, strict=True)]
    m = auto_map(columns, sample)
    return {ev.header: (ev.target, ev.why) for ev in m.evidence}


def test_numbered_repeats_map_with_their_evidence() -> None:
    got = _why(["phone1", "phone2", "Email 1", "Zip"],
               [["504-621-8927", "504-845-1427", "a@x.com", "70116"]] * 3)  # fmt: skip
    assert got["phone1"] == ("phone", "name + 100% parse as phones")
    assert got["phone2"][0] == "extra:phone2" and "used when" in got["phone2"][1]
    assert got["Email 1"] == ("email", "name + 100% parse as emails")


def test_owner_columns_are_never_the_leads_own() -> None:
    got = _why(["Lead Owner", "Owner Email", "Email", "Zip"],
               [["Bethany Dixon", "bd@corp.com", "a@x.com", "02139"]] * 3)  # fmt: skip
    assert got["Lead Owner"][0] == "extra:lead_owner"
    assert got["Owner Email"][0] == "extra:owner_email"
    assert got["Email"][0] == "email"


def test_values_overrule_a_header_and_name_an_unknown_one() -> None:
    got = _why(["Phone", "Contact", "Zip"], [["call after five", "ann@x.com", "02139"]] * 3)
    assert got["Phone"][0] == "extra:phone_2"  # no phone in it: kept, not sent as the phone
    assert got["Contact"] == ("email", "values: 100% parse as emails")


def test_card_numbers_by_value_and_sensitive_names_are_held_back(tmp_path: Path) -> None:
    assert luhn_valid("4539578763621486") and not luhn_valid("4539578763621487")
    text = "Email,Zip,Ref,CVC,Pwd\nann@x.com,02139,4539578763621486,123,hunter2\n"
    (lead,) = _prepared(tmp_path / "a.csv", text)
    assert isinstance(lead, Lead)
    assert lead.payload == {"email": "ann@x.com", "zip": "02139"}
    # A mapping file that names the column by name sends it.
    (lead,) = _prepared(tmp_path / "b.csv", text, mapping={"columns": {"Pwd": "pwd"}})
    assert isinstance(lead, Lead) and lead.payload["pwd"] == "hunter2"


def test_a_lone_compound_column_fills_the_fields(tmp_path: Path) -> None:
    text = (
        "Email,MailingAddress\n"
        'ann@x.com,"{""street"":""1 Main St"",""city"":""Boston"",""postalCode"":""02139""}"\n'
    )
    (lead,) = _prepared(tmp_path / "a.csv", text)
    assert isinstance(lead, Lead)
    assert lead.payload == {
        "email": "ann@x.com",
        "address_1": "1 Main St",
        "city": "Boston",
        "zip": "02139",
    }


def test_each_rows_country_decides_and_others_are_invalid(tmp_path: Path) -> None:
    text = (
        "Email,Phone,Zip,Country\n"
        "a@x.com,555-123-4567,02139,US\n"
        "b@x.com,416-555-0199,K1A 0B1,Canada\n"
        "c@x.com,020 7946 0958,SW1A 1AA,GB\n"
    )
    a, b, c = _prepared(tmp_path / "a.csv", text, PrepareOptions(countries=("US", "CA")))
    assert isinstance(a, Lead) and isinstance(b, Lead)
    assert b.payload["zip"] == "K1A 0B1"
    assert isinstance(c, RowResult)
    assert "country GB is not one this source takes (--countries)" in c.error


def test_foreign_postcodes_without_a_country_column_are_named(tmp_path: Path) -> None:
    text = "Email,State,Zip\na@x.com,NSW,2000\nb@x.com,MA,2139\nc@x.com,,CT2 7PP\n"
    au, us, gb = _prepared(tmp_path / "a.csv", text)
    assert isinstance(au, RowResult) and "looks like an AU postcode" in au.error
    assert isinstance(us, Lead) and us.payload["zip"] == "02139"  # Excel's lost zero
    assert isinstance(gb, RowResult) and "looks like a GB postcode" in gb.error


def test_no_way_to_reach_unless_allowed(tmp_path: Path) -> None:
    text = "First Name,Email,Phone,Zip\nAnn,,,02139\n"
    (row,) = _prepared(tmp_path / "a.csv", text)
    assert isinstance(row, RowResult) and "no way to reach this lead" in row.error
    (lead,) = _prepared(tmp_path / "b.csv", text, PrepareOptions(allow_no_contact=True))
    assert isinstance(lead, Lead)


@pytest.mark.parametrize(
    ("written", "phone", "extension"),
    [
        ("001-672-799-2170x5610", "672-799-2170", "5610"),
        ("00 1 672 799 2170", "672-799-2170", None),
        ("+1-532-344-1362", "532-344-1362", None),
        ("(850)241-9883 ext. 12", "850-241-9883", "12"),
    ],
)
def test_prefixes_and_extensions(
    tmp_path: Path, written: str, phone: str, extension: str | None
) -> None:
    (lead,) = _prepared(tmp_path / "a.csv", f'Phone,Zip\n"{written}",02139\n')
    assert isinstance(lead, Lead)
    assert lead.payload["phone"] == phone
    assert lead.payload.get("phone_extension") == extension


def test_excels_scientific_notation_is_named(tmp_path: Path) -> None:
    text = "Email,Zip,Account Number\na@x.com,02139,5.54563E+15\nb@x.com,02139,5545634085461876\n"
    damaged, fine = _prepared(tmp_path / "a.csv", text)
    assert isinstance(damaged, RowResult) and "scientific notation" in damaged.error
    assert "re-export" in damaged.error
    assert isinstance(fine, Lead)


def test_first_valid_value_of_repeated_columns_wins(tmp_path: Path) -> None:
    text = "Email 1,Email 2,Zip\nbad@,b@x.com,02139\n,c@x.com,02139\n"
    first, second = _prepared(tmp_path / "a.csv", text)
    assert isinstance(first, Lead) and first.payload["email"] == "b@x.com"
    assert first.payload["email_2"] == "b@x.com"  # still sent as an extra
    assert isinstance(second, Lead) and second.payload["email"] == "c@x.com"


def test_a_second_zip_that_agrees_is_not_sent(tmp_path: Path) -> None:
    (lead,) = _prepared(tmp_path / "a.csv", "Email,Zip,Zip Code\na@x.com,02139,02139\n")
    assert isinstance(lead, Lead) and lead.payload == {"email": "a@x.com", "zip": "02139"}


def test_placeholder_data_row_is_not_the_header() -> None:
    header = ["Name", "Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value"]
    placeholders = ["Full Name", "First Name", "Last Name", "Email", "Phone"]
    assert find_header_row([header, placeholders]) == 0
    assert find_header_row([["Report"], header, placeholders, placeholders]) == 1
    assert find_header_row([["Email", "Zip"]]) == 0  # a header and no rows yet
    assert find_header_row([["ann@x.com", "Email", "Zip"]]) == 0


def test_value_kinds() -> None:
    assert {k.name for k in kinds_of("CT2 7PP")} == {"UK_POSTCODE"}
    assert "PHONE" in {k.name for k in kinds_of("985.939.5411x2641")}
    assert "PHONE" not in {k.name for k in kinds_of("77.377518")}
    assert "JSON" in {k.name for k in kinds_of('{"city": "Boston"}')}


def test_a_misspelt_header_counts_when_its_values_agree() -> None:
    got = _why(["Emial", "Telphone", "Zip"], [["ann@x.com", "555-123-4567", "02139"]] * 3)
    assert got["Emial"] == ("email", 'name close to "Email" + 100% parse as emails')
    assert got["Telphone"][0] == "phone"
    words = _why(["Emial", "Zip"], [["call me", "02139"]] * 3)
    assert words["Emial"][0] == "extra:emial"


def test_outlook_and_facebook_spellings() -> None:
    got = _why(["E-mail Address", "E-mail 2 Address", "zip_code"],
               [["a@x.com", "b@y.com", "z:01960"]] * 3)  # fmt: skip
    assert got["E-mail Address"][0] == "email"
    assert got["E-mail 2 Address"][0] == "extra:e_mail_2_address"
    assert "used when" in got["E-mail 2 Address"][1]
    assert got["zip_code"] == ("zip", "name + 100% parse as postcodes")


def test_the_file_read_event_carries_the_evidence(tmp_path: Path) -> None:
    """The web page shows what validate shows: the evidence is data, not only text."""
    path = tmp_path / "a.csv"
    path.write_text("phone1,phone2,Zip\n504-621-8927,504-845-1427,70116\n", encoding="utf-8")
    table = open_table(path)
    columns = {c.column: c for c in file_read(table, map_columns(table, None)).columns}
    assert columns["phone1"].target == "field phone"
    assert columns["phone1"].why == "name + 100% parse as phones"
    assert columns["phone1"].runners_up == ('"phone2" too (name + 100% parse as phones)',)
    path.write_text("Email,Zip,CVV2\na@x.com,02139,123\n", encoding="utf-8")
    table = open_table(path)
    held = file_read(table, map_columns(table, None)).held_back
    assert [(c.column, c.target) for c in held] == [("CVV2", "held back (card security code)")]


HEADERS = st.sampled_from(
    ["Email", "Phone", "Zip", "CCNumber", "CVV2", "Password", "SSN", "National ID", "Address",
     "MailingAddress", "Notes", "Ref", "phone2", "Lead Owner", "Country"]
)  # fmt: skip
CELLS = st.sampled_from(
    ["ann@x.com", "555-123-4567", "02139", "4539578763621486", "123-45-6789", "hunter2",
     '{"street": "1 Main St", "postalCode": "02139"}', "", "US", "Boston"]
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    headers=st.lists(HEADERS, min_size=1, max_size=6, unique=True),
    data=st.data(),
)
def test_held_back_and_compound_values_never_reach_a_payload(
    headers: list[str], data: st.DataObject
) -> None:
    """Whatever the mix of columns, no lead carries a held-back column's cell, nor a compound
    column's JSON object, under any key."""
    rows = data.draw(st.lists(st.lists(CELLS, min_size=len(headers), max_size=len(headers)),
                              min_size=1, max_size=5))  # fmt: skip
    sample = [list(col) for col in zip(*rows, strict=True)]
    mapping = auto_map(headers, sample)
    chunk = pd.DataFrame(rows, index=range(2, 2 + len(rows)), columns=range(len(headers)))
    options = PrepareOptions(allow_no_contact=True)
    # A held-back cell's text may also be another column's value ("02139" as a password and
    # inside an Address object): mark the held-back cells, which nothing else reads, instead.
    marked = chunk.copy()
    for pos in mapping.held_back:
        marked[pos] = f"held-back-{pos}"
    for result, _ in Preparer(mapping, headers, options, "0" * 64).prepare(marked.astype(object)):
        if isinstance(result, Lead):
            assert "held-back-" not in json.dumps(result.payload), (headers, result.payload)
    preparer = Preparer(mapping, headers, options, "0" * 64)
    for result, cells in preparer.prepare(chunk.astype(object)):
        if not isinstance(result, Lead):
            continue
        sent = set(map(str, result.payload.values()))
        for pos in mapping.ignored:  # the compound columns: their JSON text is never a value
            elsewhere = cells[:pos] + cells[pos + 1 :]  # the same text may come from another
            if cells[pos].startswith("{") and cells[pos] not in elsewhere:
                assert cells[pos] not in sent, (headers[pos], result.payload)

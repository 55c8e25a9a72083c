"""Header auto-mapping and TOML mapping files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from uploader.errors import ConfigError
from uploader.prepare.mapping import (
    KEY_RE,
    Mapping,
    auto_map,
    describe,
    load_mapping,
    mapping_to_toml,
    snake_key,
)


def _fields(columns: list[str]) -> dict[str, str]:
    """field -> header, for readable assertions."""
    m = auto_map(columns)
    out = {field: columns[pos] for pos, field in m.fields.items()}
    if m.full_name is not None:
        out["full_name"] = columns[m.full_name]
    return out


@pytest.mark.parametrize(
    ("header", "field"),
    [
        # Every alias of EXPORT-HEADERS.md.
        *[(h, "first_name") for h in ["First Name", "FirstName", "firstname", "first_name",
                                      "Given Name", "FNAME", "fn"]],
        *[(h, "last_name") for h in ["Last Name", "LastName", "lastname", "last_name",
                                     "Family Name", "Surname", "LNAME", "ln"]],
        *[(h, "full_name") for h in ["Name", "Full Name", "full_name", "Person - Name",
                                     "Display Name"]],
        *[(h, "email") for h in ["Email", "Email Address", "E-mail", "E-mail Address",
                                 "E-mail 1 - Value", "Primary Email", "work_email", "EMAIL"]],
        *[(h, "phone") for h in ["Phone", "Phone Number", "phone_number", "Phone 1 - Value",
                                 "Mobile", "Mobile Phone", "Mobile Phone Number", "MobilePhone",
                                 "Mobile Number", "Business Phone", "Home Phone",
                                 "work_phone_number"]],
        *[(h, "address_1") for h in ["Address", "Street", "Street Address", "street_address",
                                     "Address 1 - Street", "Mailing Street", "MailingStreet",
                                     "Home Street", "Business Street", "Home Address"]],
        *[(h, "address_2") for h in ["Address 2", "Address Line 2", "Street 2",
                                     "Home Address 2"]],
        *[(h, "city") for h in ["City", "Town", "Address 1 - City", "Mailing City",
                                "MailingCity", "Home City", "Business City", "ct"]],
        *[(h, "state") for h in ["State", "State/Province", "State/Region", "Region",
                                 "Province", "Address 1 - Region", "Mailing State/Province",
                                 "MailingState", "Home State", "st"]],
        *[(h, "zip") for h in ["Zip", "ZIP", "Zip Code", "Zip_Code", "zip_code",
                               "ZIP/Postal Code", "Zip/Postal Code", "Postal Code", "PostalCode",
                               "postal_code", "post_code", "Postcode", "Address 1 - Postal Code",
                               "Mailing Zip/Postal Code", "MailingPostalCode", "Home ZipCode"]],
        ("County", "county"),
        (" ZIP ", "zip"),
        ("E_MAIL", "email"),
    ],
)  # fmt: skip
def test_every_documented_header(header: str, field: str) -> None:
    assert _fields([header, "Other"]) == {field: header}


@pytest.mark.parametrize("header", ["Company Name", "Homeowner", "Status", "Notes", "Record ID"])
def test_not_mistaken_for_a_field(header: str) -> None:
    assert _fields([header]) == {}


def test_home_beats_business_and_address_is_never_mixed() -> None:
    outlook = ["First Name", "Last Name", "E-mail Address", "Business Phone", "Home Phone",
               "Mobile Phone", "Business Street", "Business City", "Business State",
               "Business Postal Code", "Home Street", "Home City", "Home State",
               "Home Postal Code"]  # fmt: skip
    got = _fields(outlook)
    assert got["phone"] == "Mobile Phone"
    assert [got[f] for f in ("address_1", "city", "state", "zip")] == [
        "Home Street", "Home City", "Home State", "Home Postal Code"
    ]  # fmt: skip
    # Without a Home zip, the whole address comes from Business.
    no_home_zip = outlook[:-1]
    got = _fields(no_home_zip)
    assert [got[f] for f in ("address_1", "city", "state", "zip")] == [
        "Business Street", "Business City", "Business State", "Business Postal Code"
    ]  # fmt: skip


def test_generic_beats_prefixed_and_left_beats_right() -> None:
    assert _fields(["Home Phone", "Phone", "Phone Number"])["phone"] == "Phone"
    assert auto_map(["Email", "Email"]).fields == {0: "email"}


def test_unmapped_columns_are_extras_with_api_keys() -> None:
    cols = ["Record ID", "what_is_your_budget?", "LeadSource", "", "2nd Phone", "Email",
            "email", "is_test", "Prénom d'usage"]  # fmt: skip
    m = auto_map(cols)
    assert m.extras == {
        0: "record_id",
        1: "what_is_your_budget",
        2: "lead_source",
        3: "column_4",
        4: "_2nd_phone",
        6: "email_2",
        7: "is_test_2",
        8: "prenom_d_usage",
    }
    assert all(KEY_RE.match(k) for k in m.extras.values())


def test_full_name_only_without_separate_names() -> None:
    assert auto_map(["full_name", "email"]).full_name == 0
    m = auto_map(["Name", "First Name", "Last Name"])
    assert m.full_name is None and m.extras == {0: "name"}


def test_describe() -> None:
    cols = ["full_name", "Email", "Budget"]
    m = auto_map(cols)
    assert describe(m, cols) == [
        ("full_name", "full name → first/last"),
        ("Email", "field email"),
        ("Budget", "extra budget"),
    ]


@pytest.mark.parametrize(
    "columns",
    [
        ["Record ID", "First Name", "Email", "Email", "Phone", "Home Phone", "", "Zip", "Notes"],
        ["full_name", "email", "phone_number", "zip_code", "what_is_your_budget?", "is_test"],
        ['Quote "this"', "Back\\slash", "Zip", "Émail"],
    ],
)
def test_generated_toml_round_trips(tmp_path: Path, columns: list[str]) -> None:
    mapping = auto_map(columns)
    path = tmp_path / "mapping.toml"
    path.write_text(mapping_to_toml(mapping, columns, source="leads.csv"))
    assert load_mapping(path, columns) == mapping


def _load(tmp_path: Path, text: str, columns: list[str]) -> Mapping:
    path = tmp_path / "m.toml"
    path.write_text(text)
    return load_mapping(path, columns)


def test_mapping_file_overrides_and_constants(tmp_path: Path) -> None:
    cols = ["Cust Zip", "Zip", "Email", "Notes", "Business Phone", "Who"]
    m = _load(
        tmp_path,
        """
ignore = ["Notes"]
[columns]
"Cust Zip" = "zip"
"Business Phone" = "phone"
"Who" = "full_name"
[constants]
lead_source = "Trade show"
""",
        cols,
    )
    assert m.fields == {0: "zip", 2: "email", 4: "phone"}
    assert m.extras == {1: "zip_2"}
    assert m.ignored == (3,)
    assert m.full_name == 5
    assert m.constants == {"lead_source": "Trade show"}


def test_mapping_file_auto_false_leaves_the_rest_out(tmp_path: Path) -> None:
    m = _load(tmp_path, 'auto = false\n[columns]\n"#2" = "zip"\n', ["Email", "Code"])
    assert m.fields == {1: "zip"} and m.extras == {} and m.ignored == (0,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[columns]\n"Emial" = "email"\n', "'Emial' is not in the file"),
        ('[columns]\n"Email" = "frist_name"\n', "did you mean 'first_name'"),
        ('[columns]\n"Email" = "bad key!"\n', "extra field key"),
        ('[columns]\n"Email" = "zip"\n"Zip" = "zip"\n', "both mapped to zip"),
        ('[columns]\n"#9" = "zip"\n', "has 3 columns"),
        ("[constants]\nlead_source = 3\n", "quoted string"),
        ('[constants]\nemail = "x@y.com"\n', "clashes"),
        ('[colums]\n"Email" = "email"\n', "unknown key 'colums'"),
        ("[columns\n", "not a valid TOML"),
    ],
)
def test_mapping_file_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        _load(tmp_path, text, ["Email", "Zip", "Notes"])
    assert "m.toml" in str(caught.value)


def test_repeated_header_needs_a_position(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape('use "#1" or "#2"')):
        _load(tmp_path, '[columns]\n"Email" = "email"\n', ["Email", "Email"])
    m = _load(tmp_path, '[columns]\n"#2" = "email"\n', ["Email", "Email"])
    assert m.fields == {1: "email"} and m.extras == {0: "email_2"}


def test_extra_prefix_allows_a_standard_name(tmp_path: Path) -> None:
    m = _load(tmp_path, '[columns]\n"Alt" = "extra:zip_alt"\n', ["Zip", "Alt"])
    assert m.extras == {1: "zip_alt"}


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_mapping(tmp_path / "none.toml", ["Zip"])


@pytest.mark.parametrize(
    ("header", "key"),
    [("What is your budget?", "what_is_your_budget"), ("LeadSource", "lead_source"),
     ("ID", "id"), ("  ", "column_3"), ("3 beds", "_3_beds"), ("Año", "ano")],
)  # fmt: skip
def test_snake_key(header: str, key: str) -> None:
    assert snake_key(header, 2) == key

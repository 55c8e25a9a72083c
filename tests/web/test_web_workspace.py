"""The workspace's file names: whatever a browser sends, a plain name inside its folder."""

from __future__ import annotations

import pytest

from uploader.errors import InputError
from uploader.web.workspace import safe_name


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("leads.csv", "leads.csv"),
        ("../../leads.csv", "leads.csv"),
        ("..\\..\\Windows\\leads.xlsx", "leads.xlsx"),
        ("/etc/cron.d/leads.csv", "leads.csv"),
        ("C:\\Users\\me\\Trade show (May).XLS", "Trade show (May).XLS"),
        ("..leads.csv", "leads.csv"),
        ("lead\x00s.csv", "lead_s.csv"),
        ("list\u202egpj.csv", "list_gpj.csv"),  # a bidi override shows no other name
        ("M\u00fcller\u2013Liste.tsv", "M\u00fcller_Liste.tsv"),  # letters kept, a dash not
        ("a" * 300 + ".csv", "a" * 116 + ".csv"),
    ],
)
def test_a_dropped_name_becomes_a_plain_name(sent: str, kept: str) -> None:
    assert safe_name(sent) == kept


@pytest.mark.parametrize(
    "sent", ["", "..", "../", ".csv", "leads", "leads.exe", "x.csv/..", "notes.txt.sh"]
)
def test_a_name_that_is_no_lead_file_is_refused(sent: str) -> None:
    with pytest.raises(InputError):
        safe_name(sent)

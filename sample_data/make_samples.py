"""Generate sample_data/leads.csv and leads.xlsx: a deterministic lead export of mixed quality.

The people are invented: names from small lists, emails on reserved example domains
(RFC 2606), phones in the fictional 555-0100..555-0199 range, real city/state/zip/county
combinations. Most rows are clean; a known, fixed set of rows carries the defects real CRM and
trade-show exports have (see DEFECT_QUOTAS and the summary this script prints).

Run from the repository root:

    .venv/bin/python sample_data/make_samples.py

Output is byte-identical on every run (fixed seed, fixed workbook timestamps, fixed zip entry
dates).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import unicodedata
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.writer.excel import ExcelWriter

SEED = 2026
N_ROWS = 300
HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2026, 3, 2, 9, 14, 0)

HEADERS = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Street Address",
    "Address 2",
    "City",
    "State",
    "Zip Code",
    "County",
    "Lead Source",
    "Campaign",
    "Notes",
]

# Rows carrying each defect or oddity; every other row is clean. Each row has at most one tag.
DEFECT_QUOTAS = {
    # messy but valid: a normaliser should fix these
    "zip_plus4": 6,
    "state_lowercase": 4,
    "state_full_name": 5,
    "phone_formatting": 11,
    "email_upper_spaces": 4,
    "stray_whitespace": 3,
    # invalid: cannot be sent as is
    "missing_zip": 3,
    "bad_email": 3,
    "impossible_phone": 3,
    # an earlier row's person (same email and phone) scanned again
    "duplicate_email": 6,
    # valid rows with content that trips naive CSV/Excel handling
    "notes_commas": 1,
    "notes_quotes": 1,
    "notes_newline": 1,
    "notes_formula": 1,
    "accented_name": 3,
}
INVALID_TAGS = ("missing_zip", "bad_email", "impossible_phone")

# city, state, county, area code, weight, zips (New England and NJ zips start with 0)
CITIES = [
    ("Cambridge", "MA", "Middlesex", "617", 3, ("02138", "02139", "02140", "02141")),
    ("Boston", "MA", "Suffolk", "617", 3, ("02116", "02118", "02127", "02130")),
    ("Worcester", "MA", "Worcester", "508", 2, ("01602", "01604", "01605", "01609")),
    ("Providence", "RI", "Providence", "401", 2, ("02903", "02906", "02908")),
    ("Hartford", "CT", "Hartford", "860", 2, ("06103", "06105", "06106")),
    ("Portland", "ME", "Cumberland", "207", 1, ("04101", "04102", "04103")),
    ("Burlington", "VT", "Chittenden", "802", 1, ("05401", "05408")),
    ("Manchester", "NH", "Hillsborough", "603", 1, ("03101", "03103", "03104")),
    ("Newark", "NJ", "Essex", "973", 1, ("07102", "07104", "07105")),
    ("Trenton", "NJ", "Mercer", "609", 1, ("08608", "08609", "08618")),
    ("Albany", "NY", "Albany", "518", 1, ("12203", "12206", "12208")),
    ("Buffalo", "NY", "Erie", "716", 1, ("14201", "14209", "14213")),
    ("Brooklyn", "NY", "Kings", "718", 2, ("11201", "11211", "11215", "11238")),
    ("Philadelphia", "PA", "Philadelphia", "215", 2, ("19103", "19104", "19123", "19147")),
    ("Pittsburgh", "PA", "Allegheny", "412", 1, ("15206", "15213", "15217")),
    ("Baltimore", "MD", "Baltimore City", "410", 1, ("21201", "21218", "21224", "21230")),
    ("Richmond", "VA", "Richmond City", "804", 1, ("23219", "23220", "23221")),
    ("Raleigh", "NC", "Wake", "919", 1, ("27601", "27603", "27607", "27609")),
    ("Charlotte", "NC", "Mecklenburg", "704", 1, ("28202", "28203", "28205", "28209")),
    ("Atlanta", "GA", "Fulton", "404", 2, ("30303", "30305", "30308", "30309")),
    ("Jacksonville", "FL", "Duval", "904", 1, ("32202", "32204", "32207")),
    ("Orlando", "FL", "Orange", "407", 1, ("32801", "32803", "32806")),
    ("Tampa", "FL", "Hillsborough", "813", 1, ("33602", "33606", "33609", "33629")),
    ("Miami", "FL", "Miami-Dade", "305", 2, ("33130", "33133", "33137", "33145")),
    ("Nashville", "TN", "Davidson", "615", 1, ("37203", "37204", "37206", "37212")),
    ("Louisville", "KY", "Jefferson", "502", 1, ("40202", "40204", "40205")),
    ("Columbus", "OH", "Franklin", "614", 1, ("43201", "43206", "43215")),
    ("Cleveland", "OH", "Cuyahoga", "216", 1, ("44102", "44106", "44113")),
    ("Indianapolis", "IN", "Marion", "317", 1, ("46202", "46204", "46220")),
    ("Detroit", "MI", "Wayne", "313", 1, ("48201", "48207", "48226")),
    ("Chicago", "IL", "Cook", "312", 2, ("60607", "60614", "60618", "60622", "60647")),
    ("Milwaukee", "WI", "Milwaukee", "414", 1, ("53202", "53204", "53211")),
    ("Minneapolis", "MN", "Hennepin", "612", 1, ("55401", "55405", "55408", "55414")),
    ("Des Moines", "IA", "Polk", "515", 1, ("50309", "50310", "50312")),
    ("St. Louis", "MO", "St. Louis City", "314", 1, ("63104", "63110", "63118")),
    ("Kansas City", "MO", "Jackson", "816", 1, ("64105", "64108", "64111")),
    ("Omaha", "NE", "Douglas", "402", 1, ("68102", "68105", "68131")),
    ("New Orleans", "LA", "Orleans", "504", 1, ("70112", "70115", "70119")),
    ("Dallas", "TX", "Dallas", "214", 2, ("75201", "75204", "75206", "75214")),
    ("Houston", "TX", "Harris", "713", 2, ("77002", "77006", "77019", "77098")),
    ("Austin", "TX", "Travis", "512", 2, ("78701", "78702", "78704", "78745")),
    ("San Antonio", "TX", "Bexar", "210", 1, ("78204", "78209", "78212")),
    ("Oklahoma City", "OK", "Oklahoma", "405", 1, ("73102", "73106", "73118")),
    ("Denver", "CO", "Denver", "303", 2, ("80202", "80203", "80206", "80210")),
    ("Salt Lake City", "UT", "Salt Lake", "801", 1, ("84101", "84102", "84105")),
    ("Phoenix", "AZ", "Maricopa", "602", 2, ("85004", "85006", "85016", "85018")),
    ("Albuquerque", "NM", "Bernalillo", "505", 1, ("87102", "87106", "87110")),
    ("Las Vegas", "NV", "Clark", "702", 1, ("89101", "89104", "89117")),
    ("Boise", "ID", "Ada", "208", 1, ("83702", "83705", "83706")),
    ("Los Angeles", "CA", "Los Angeles", "213", 2, ("90012", "90026", "90027", "90042")),
    ("San Diego", "CA", "San Diego", "619", 2, ("92101", "92103", "92104", "92116")),
    ("Sacramento", "CA", "Sacramento", "916", 1, ("95811", "95816", "95818")),
    ("Portland", "OR", "Multnomah", "503", 1, ("97205", "97209", "97214")),
    ("Seattle", "WA", "King", "206", 2, ("98103", "98107", "98115", "98122")),
]

# fmt: off
STATE_NAMES = {
    "MA": "Massachusetts", "RI": "Rhode Island", "CT": "Connecticut", "ME": "Maine",
    "VT": "Vermont", "NH": "New Hampshire", "NJ": "New Jersey", "NY": "New York",
    "PA": "Pennsylvania", "MD": "Maryland", "VA": "Virginia", "NC": "North Carolina",
    "GA": "Georgia", "FL": "Florida", "TN": "Tennessee", "KY": "Kentucky", "OH": "Ohio",
    "IN": "Indiana", "MI": "Michigan", "IL": "Illinois", "WI": "Wisconsin", "MN": "Minnesota",
    "IA": "Iowa", "MO": "Missouri", "NE": "Nebraska", "LA": "Louisiana", "TX": "Texas",
    "OK": "Oklahoma", "CO": "Colorado", "UT": "Utah", "AZ": "Arizona", "NM": "New Mexico",
    "NV": "Nevada", "ID": "Idaho", "CA": "California", "OR": "Oregon", "WA": "Washington",
}

FIRST_NAMES = [
    "Aaliyah", "Adam", "Aisha", "Alan", "Alicia", "Amir", "Andre", "Angela", "Anthony",
    "Ashley", "Beatriz", "Ben", "Brandon", "Brianna", "Caleb", "Carla", "Carlos", "Carmen",
    "Chris", "Connor", "Dana", "Daniel", "Darnell", "Deborah", "Derek", "Diane", "Elena",
    "Emily", "Eric", "Fatima", "Gabriel", "Grace", "Hannah", "Hector", "Imani", "Isaac",
    "Jamal", "Janet", "Jasmine", "Jason", "Jennifer", "Jorge", "Julia", "Kenji", "Kevin",
    "Keisha", "Laura", "Leah", "Luis", "Marcus", "Maria", "Megan", "Michael", "Mei", "Monica",
    "Nadia", "Nathan", "Nicole", "Omar", "Patrick", "Priya", "Rachel", "Rajesh", "Raymond",
    "Rosa", "Ryan", "Samantha", "Sean", "Sofia", "Stephanie", "Tanya", "Terrence", "Theresa",
    "Tyler", "Valerie", "Victor", "Wei", "Wendy", "Xavier", "Yolanda", "Zachary",
]

LAST_NAMES = [
    "Abbott", "Acosta", "Adeyemi", "Baker", "Banerjee", "Barnes", "Bennett", "Brooks",
    "Bryant", "Calloway", "Carter", "Castillo", "Chen", "Coleman", "Cruz", "Daniels",
    "Delgado", "Dixon", "Ellis", "Espinoza", "Fischer", "Foster", "Garcia", "Gibson", "Gordon",
    "Grant", "Greene", "Gupta", "Hall", "Hansen", "Harper", "Hayes", "Henderson", "Hernandez",
    "Hoffman", "Howard", "Hughes", "Jackson", "Jensen", "Kaplan", "Kim", "Kowalski", "Larson",
    "Lee", "Lopez", "Marsh", "Martinez", "McCarthy", "Mendoza", "Mitchell", "Morales",
    "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Ortiz", "Owens", "Park",
    "Patel", "Perez", "Porter", "Price", "Quinn", "Ramirez", "Reyes", "Richardson", "Rivera",
    "Robinson", "Russo", "Sanders", "Schmidt", "Shah", "Simmons", "Sullivan", "Tanaka",
    "Torres", "Tran", "Turner", "Vasquez", "Walsh", "Washington", "Watkins", "Whitaker",
    "Williams", "Wong", "Yamamoto", "Young", "O'Brien", "Van Dyke", "De La Cruz",
]

STREET_NAMES = [
    "Maple", "Oak", "Cedar", "Pine", "Elm", "Walnut", "Willow", "Birch", "Chestnut", "Spruce",
    "Magnolia", "Hickory", "Juniper", "Aspen", "Laurel", "Sycamore", "Cherry", "Dogwood",
    "Highland", "Lakeview", "Ridge", "Meadow", "Orchard", "Harbor", "Franklin", "Lincoln",
    "Washington", "Jefferson", "Madison", "Adams", "Prospect", "Pleasant", "Church", "Mill",
    "School", "Spring", "Park", "Union", "Fairview", "Hillcrest", "Sunset", "Riverside",
    "Forest", "Bayview", "Grove", "Glenwood", "Woodland", "Summit", "Kingston",
]
# fmt: on
STREET_SUFFIXES = ["St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl", "Ter"]
UNITS = ["Apt 2", "Apt 3B", "Apt 12", "Unit 4", "Unit 101", "Suite 200", "#5", "Fl 2", "Apt 7C"]

PERSONAL_DOMAINS = ["example.com", "example.net", "example.org"]
BUSINESS_DOMAINS = [
    "harborlightrealty.example",
    "northfieldbuilders.example",
    "brightwaterhomes.example",
    "summitpropertygroup.example",
    "cedarlaneinsurance.example",
]

# lead source, weight, campaigns
SOURCES = [
    (
        "Trade Show",
        45,
        ["Home & Garden Expo 2026", "Solar Power Expo 2026", "Spring Home Show 2026"],
    ),
    ("Web Form", 25, ["Spring Roof Promo", "Google Ads - Solar Q1", "Free Estimate Landing Page"]),
    ("Referral", 10, ["Customer Referral Program"]),
    ("Webinar", 8, ["Webinar: Cutting Your Energy Bill"]),
    ("Partner", 7, ["Partner - Harborlight Realty"]),
    ("Purchased List", 5, ["List Buy - Feb 2026"]),
]

# Plain notes: no commas, quotes or newlines, so the rows that have them are exactly the
# tagged ones.
NOTES = [
    "Wants a quote for a full roof replacement",
    "Call after 5pm",
    "Interested in solar; owns home",
    "Renting - ask about landlord approval",
    "Asked for a callback next week",
    "Prefers email over phone",
    "Has an old quote from a competitor",
    "Kitchen remodel this summer",
    "Needs new windows before winter",
    "Visited booth twice",
    "Spoke with Dana at booth 14",
    "Budget around $15k",
]
SPECIAL_NOTES = {
    "notes_commas": "Wants quotes for roof, gutters, and windows",
    "notes_quotes": 'Said "call me after 6pm", prefers text',
    "notes_newline": "Gate code 4471\nDog in the yard, knock loudly",
    "notes_formula": '=HYPERLINK("http://example.com","click")',
}
ACCENTED_NAMES = [("José", "Peña"), ("Renée", "Côté"), ("Zoë", "Müller")]
BAD_EMAILS = ["{first}@", "{first}.{last}.example.com", "{first}.{last}@@example.net"]
IMPOSSIBLE_PHONES = ["555-0199", "000-000-0000", "(617) 555-01"]
PHONE_FORMATS = [
    "({a}) {x}-{n}",
    "+1 {a} {x} {n}",
    "{a}.{x}.{n}",
    "{a}{x}{n}",
    "+1 ({a}) {x}-{n}",
    "1-{a}-{x}-{n}",
    " {a} {x} {n} ",
    "+1{a}{x}{n}",
]


def ascii_fold(text: str) -> str:
    """Lower-case letters and digits only, accents dropped: how people spell names in emails."""
    decomposed = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", decomposed.encode("ascii", "ignore").decode().lower())


class Generator:
    """Draws invented people; keeps emails and phones unique across the file."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.emails: set[str] = set()
        self.phones: set[str] = set()

    def email(self, first: str, last: str) -> str:
        f, lname = ascii_fold(first), ascii_fold(last)
        local = self.rng.choice([f"{f}.{lname}", f"{f}{lname}", f"{f[0]}{lname}", f"{f}_{lname}"])
        pool = PERSONAL_DOMAINS if self.rng.random() < 0.7 else BUSINESS_DOMAINS
        domain = self.rng.choice(pool)
        email = f"{local}@{domain}"
        while email in self.emails:
            email = f"{local}{self.rng.randint(2, 99)}@{domain}"
        self.emails.add(email)
        return email

    def phone(self, area: str) -> str:
        while True:
            phone = f"{area}-555-01{self.rng.randint(0, 99):02d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def person(self, first: str | None = None, last: str | None = None) -> dict[str, str]:
        rng = self.rng
        first = first or rng.choice(FIRST_NAMES)
        last = last or rng.choice(LAST_NAMES)
        city, state, county, area, _, zips = rng.choices(CITIES, weights=[c[4] for c in CITIES])[0]
        source, _, campaigns = rng.choices(SOURCES, weights=[s[1] for s in SOURCES])[0]
        street = f"{rng.randint(1, 9899)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_SUFFIXES)}"
        return {
            "First Name": first,
            "Last Name": last,
            "Email": self.email(first, last),
            "Phone": self.phone(area),
            "Street Address": street,
            "Address 2": rng.choice(UNITS) if rng.random() < 0.12 else "",
            "City": city,
            "State": state,
            "Zip Code": rng.choice(zips),
            "County": county if rng.random() < 0.7 else "",
            "Lead Source": source,
            "Campaign": rng.choice(campaigns),
            "Notes": rng.choice(NOTES) if rng.random() < 0.25 else "",
        }


def plan(rng: random.Random) -> dict[int, str]:
    """Which row index (0-based data row) carries which tag."""
    tags: dict[int, str] = {}
    # repeats need an earlier original, so keep them out of the first rows
    for i in rng.sample(range(40, N_ROWS), DEFECT_QUOTAS["duplicate_email"]):
        tags[i] = "duplicate_email"
    free = [i for i in range(N_ROWS) if i not in tags]
    rng.shuffle(free)
    for tag, count in DEFECT_QUOTAS.items():
        if tag != "duplicate_email":
            for _ in range(count):
                tags[free.pop()] = tag
    return tags


def apply(tag: str, row: dict[str, str], n: int, rng: random.Random) -> None:
    """Spoil (or decorate) a clean row in place; n is how many rows had this tag before."""
    first, last = ascii_fold(row["First Name"]), ascii_fold(row["Last Name"])
    if tag == "zip_plus4":
        row["Zip Code"] += f"-{rng.randint(1000, 9999)}"
    elif tag == "state_lowercase":
        row["State"] = row["State"].lower()
    elif tag == "state_full_name":
        row["State"] = STATE_NAMES[row["State"]]
    elif tag == "phone_formatting":
        a, x, num = row["Phone"].split("-")
        row["Phone"] = PHONE_FORMATS[n % len(PHONE_FORMATS)].format(a=a, x=x, n=num)
    elif tag == "email_upper_spaces":
        row["Email"] = [" ", "", "  ", " "][n] + row["Email"].upper() + ["", " ", " ", "  "][n]
    elif tag == "stray_whitespace":
        column, value = [
            ("First Name", "  " + row["First Name"]),
            ("Last Name", row["Last Name"] + "   "),
            ("Street Address", row["Street Address"].replace(" ", "  ")),
        ][n]
        row[column] = value
    elif tag == "missing_zip":
        row["Zip Code"] = ""
    elif tag == "bad_email":
        row["Email"] = BAD_EMAILS[n].format(first=first, last=last)
    elif tag == "impossible_phone":
        row["Phone"] = IMPOSSIBLE_PHONES[n]
    elif tag in SPECIAL_NOTES:
        row["Notes"] = SPECIAL_NOTES[tag]


def build_rows() -> tuple[list[dict[str, str]], dict[int, str]]:
    """All data rows, in file order, and the tag of every row that has one."""
    rng = random.Random(SEED)
    tags = plan(rng)
    gen = Generator(rng)
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for i in range(N_ROWS):
        tag = tags.get(i)
        n = seen.get(tag or "", 0)
        if tag:
            seen[tag] = n + 1
        row = gen.person(*ACCENTED_NAMES[n]) if tag == "accented_name" else gen.person()
        if tag == "duplicate_email":
            clean = [j for j in range(i) if j not in tags]
            original = rows[rng.choice(clean)]
            person = HEADERS[: HEADERS.index("County") + 1]
            row.update({h: original[h] for h in person})
            row["Notes"] = "Stopped by the booth again" if n % 2 else ""
        elif tag:
            apply(tag, row, n, rng)
        rows.append(row)
    return rows, tags


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HEADERS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def excel_number(value: str) -> str | int:
    """What Excel makes of a zip or phone cell: digits become a number (leading zeros lost)."""
    stripped = value.strip()
    if re.fullmatch(r"\d{3}-\d{3}-\d{4}", stripped):
        # the CRM keeps phones as digits and writes them as numbers
        return int(stripped.replace("-", ""))
    if re.fullmatch(r"\+?\d+", stripped):
        return int(stripped)
    return value


def write_xlsx(rows: list[dict[str, str]], path: Path) -> None:
    """A Salesforce-style report saved as Excel: a title block, then the table."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Leads - Spring 2026 Campaigns"])
    ws.append(["Generated by Sales Ops · As of 3/2/2026 9:14 AM"])
    ws.append([])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(HEADERS)
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in rows:
        values: list[str | int | None] = []
        for header in HEADERS:
            value = row[header]
            if header in ("Zip Code", "Phone") and value:
                values.append(excel_number(value))
            else:
                values.append(value or None)
        ws.append(values)
        for cell in ws[ws.max_row]:
            if cell.data_type == "f":
                # exported text that merely looks like a formula stays text
                cell.data_type = "s"
    wb.properties.creator = "Sales Ops"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        # ExcelWriter directly: openpyxl's save_workbook stamps "modified" with the clock
        ExcelWriter(wb, archive).save()
    # re-pack with fixed entry dates so the file is byte-identical on every run
    with (
        zipfile.ZipFile(buffer) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            dst.writestr(entry, src.read(info.filename))


def main() -> None:
    rows, tags = build_rows()
    write_csv(rows, HERE / "leads.csv")
    write_xlsx(rows, HERE / "leads.xlsx")
    print(f"{len(rows)} data rows -> leads.csv (header row 1), leads.xlsx (header row 4)")
    first_seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        first_seen.setdefault(row["Email"], i + 2)
    for tag in DEFECT_QUOTAS:
        where = []
        for i in sorted(tags):
            if tags[i] == tag:
                repeats = first_seen[rows[i]["Email"]] if tag == "duplicate_email" else None
                where.append(f"{i + 2} (repeats {repeats})" if repeats else str(i + 2))
        kind = " (invalid)" if tag in INVALID_TAGS else ""
        print(f"  {tag}{kind}: {len(where)} at csv rows {', '.join(where)}")


if __name__ == "__main__":
    main()

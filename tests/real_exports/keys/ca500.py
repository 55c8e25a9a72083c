"""briandunning_ca500.csv: the Canadian sample list, run as its user would: `--country CA`.

Read by eye and counted (throwaway scripts): LF line ends, unquoted but for cells with a
comma; 11 columns; `province` holds 10 distinct 2-letter province codes and `postal` 500
postcodes all shaped `A1A 1A1`, each with the first letter Canada Post gives its province;
phone1 and phone2 all `NXX-NXX-XXXX` with Canadian area codes, 1000 distinct; one email
twice: bgeigel@gmail.com on rows 220 (Brandon Geigel) and 336 (Nobuko Logwood). Three
addresses hold a double space (rows 31, 71, 108): sent collapsed.

The issue: `postal` and `province` were not recognised, so the whole file was refused.
Now `province` is the state and `postal` the zip; with `--country CA` (and so
`--countries CA`) every postcode is read as Canadian and no row is refused locally.

Row 336 repeats row 220's email: skipped (two people with one address are one lead to the
buyer; the first row wins), as leadup does for every repeated email or phone.

The sandbox is a US source (its zip rule is 5 digits, like a Juiced source whose operating
country is the US), so it refuses every Canadian postcode with a 422: those rows end
`rejected` with its words, nothing is created, and the bodies are checked as `leadup
validate` would send them.
"""

from tests.real_exports.keys import SANDBOX_ZIP_REFUSED, Key, rejected, skipped

KEY = Key(
    name="ca500",
    file="briandunning_ca500.csv",
    md5="8a3df353aac419a4b3e18fff5e706622",
    rows=range(2, 502),
    country="CA",
    columns={
        "first_name": "field:first_name",
        "last_name": "field:last_name",
        "company_name": "extra:company_name",
        "address": "field:address_1",
        "city": "field:city",
        "province": "field:state",
        "postal": "field:zip",
        "phone1": "field:phone",
        "phone2": "also:phone:phone2",
        "email": "field:email",
        "web": "extra:web",
    },
    default=rejected(SANDBOX_ZIP_REFUSED),
    exceptions={336: skipped(220)},
    bodies_reach_sandbox=False,
    payloads={
        # 2: the first row (its company holds a comma). 31, 71, 108: double spaces in the
        # address. 220: the row whose email row 336 repeats. 221: the one PE row. 501: last.
        2: {
            "first_name": "Francoise",
            "last_name": "Rautenstrauch",
            "address_1": "2335 Canton Hwy #6",
            "city": "Windsor",
            "state": "ON",
            "zip": "N8N 3N2",
            "phone": "519-569-8399",
            "email": "francoise.rautenstrauch@rautenstrauch.com",
            "company_name": "Riebesell, H F Jr",
            "phone2": "519-978-6179",
            "web": "http://www.riebesellhfjr.com",
        },
        31: {
            "first_name": "Lyla",
            "last_name": "Fucillo",
            "address_1": "7979 33 191",
            "city": "North River",
            "state": "NS",
            "zip": "B6L 6N1",
            "phone": "902-844-1174",
            "email": "lyla_fucillo@cox.net",
            "company_name": "Hambro Forest Products Inc",
            "phone2": "902-727-6846",
            "web": "http://www.hambroforestproductsinc.com",
        },
        71: {
            "first_name": "Janna",
            "last_name": "Bastain",
            "address_1": "41 Drive Hwy 54s S",
            "city": "Vancouver",
            "state": "BC",
            "zip": "V6N 3C5",
            "phone": "604-575-7837",
            "email": "janna@bastain.com",
            "company_name": "Hastings, Robert R Jr",
            "phone2": "604-519-7671",
            "web": "http://www.hastingsrobertrjr.com",
        },
        108: {
            "first_name": "Dianne",
            "last_name": "Tomasic",
            "address_1": "53 6 17 M At Bradleys",
            "city": "Dartmouth",
            "state": "NS",
            "zip": "B2Y 3L2",
            "phone": "902-938-6891",
            "email": "dianne@yahoo.com",
            "company_name": "Samios, Gus Esq",
            "phone2": "902-250-5089",
            "web": "http://www.samiosgusesq.com",
        },
        220: {
            "first_name": "Brandon",
            "last_name": "Geigel",
            "address_1": "70 W Main St",
            "city": "Vancouver",
            "state": "BC",
            "zip": "V5Z 3S8",
            "phone": "604-940-9313",
            "email": "bgeigel@gmail.com",
            "company_name": "Royal Title Service Inc",
            "phone2": "604-894-9406",
            "web": "http://www.royaltitleserviceinc.com",
        },
        221: {
            "first_name": "Franchesca",
            "last_name": "Lamme",
            "address_1": "3208 W Touhy Ave",
            "city": "Charlottetown",
            "state": "PE",
            "zip": "C1E 1W8",
            "phone": "902-715-9684",
            "email": "franchesca_lamme@yahoo.com",
            "company_name": "Euorpean Pretzel Bakery",
            "phone2": "902-291-8223",
            "web": "http://www.euorpeanpretzelbakery.com",
        },
        501: {
            "first_name": "Antonio",
            "last_name": "Unruh",
            "address_1": "9 Route 38",
            "city": "Port Coquitlam",
            "state": "BC",
            "zip": "V3C 2Z4",
            "phone": "604-624-7690",
            "email": "antonio.unruh@hotmail.com",
            "company_name": "Mission Lincoln Properties",
            "phone2": "604-966-9833",
            "web": "http://www.missionlincolnproperties.com",
        },
    },
)

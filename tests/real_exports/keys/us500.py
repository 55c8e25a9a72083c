"""briandunning_us500_cr.csv: the US sample list CRM tutorials import; 500 clean leads.

Read by eye and counted (throwaway scripts): CR-only line ends (501 records, none with a
line break inside quotes); 12 columns; every phone1 and phone2 is `NXX-NXX-XXXX` with an
area code 2-9, all 1000 distinct; every zip 5 digits (those with a leading zero quoted,
`"08014"`); 47 distinct 2-letter states incl. DC; 500 distinct, well-formed emails. So every
row is created. Two pairs of columns for one field: `phone1` (the phone, issue item 3: the
first column wins) and `phone2` (still sent, as an extra). Three addresses hold a double
space (rows 13 and 423, nothing else does): sent collapsed (DECISIONS "Values").
"""

from tests.real_exports.keys import Key, created

KEY = Key(
    name="us500",
    file="briandunning_us500_cr.csv",
    md5="05aad09c99f0b9aa78b8f773c0b4c937",
    rows=range(2, 502),
    columns={
        "first_name": "field:first_name",
        "last_name": "field:last_name",
        "company_name": "extra:company_name",
        "address": "field:address_1",
        "city": "field:city",
        "county": "field:county",
        "state": "field:state",
        "zip": "field:zip",
        "phone1": "field:phone",  # the first complaint: 500 leads went with no phone
        "phone2": "also:phone:phone2",
        "email": "field:email",
        "web": "extra:web",
    },
    default=created(),
    payloads={
        # 2: the first row; its company holds a comma inside quotes.
        # 4: a zip with a leading zero, quoted in the file ("08014"), kept as text.
        # 13, 423: a double space inside the address, collapsed.
        # 495: DC. 501: the last record (ends with a bare CR).
        2: {
            "first_name": "James",
            "last_name": "Butt",
            "address_1": "6649 N Blue Gum St",
            "city": "New Orleans",
            "county": "Orleans",
            "state": "LA",
            "zip": "70116",
            "phone": "504-621-8927",
            "email": "jbutt@gmail.com",
            "company_name": "Benton, John B Jr",
            "phone2": "504-845-1427",
            "web": "http://www.bentonjohnbjr.com",
        },
        4: {
            "first_name": "Art",
            "last_name": "Venere",
            "address_1": "8 W Cerritos Ave #54",
            "city": "Bridgeport",
            "county": "Gloucester",
            "state": "NJ",
            "zip": "08014",
            "phone": "856-636-8749",
            "email": "art@venere.org",
            "company_name": "Chemel, James L Cpa",
            "phone2": "856-264-4130",
            "web": "http://www.chemeljameslcpa.com",
        },
        13: {
            "first_name": "Abel",
            "last_name": "Maclead",
            "address_1": "37275 St Rt 17m M",
            "city": "Middle Island",
            "county": "Suffolk",
            "state": "NY",
            "zip": "11953",
            "phone": "631-335-3414",
            "email": "amaclead@gmail.com",
            "company_name": "Rangoni Of Florence",
            "phone2": "631-677-3675",
            "web": "http://www.rangoniofflorence.com",
        },
        423: {
            "first_name": "Virgie",
            "last_name": "Kiel",
            "address_1": "76598 Rd I 95 #1",
            "city": "Denver",
            "county": "Denver",
            "state": "CO",
            "zip": "80216",
            "phone": "303-776-7548",
            "email": "vkiel@hotmail.com",
            "company_name": "Cullen, Terrence P Esq",
            "phone2": "303-845-5408",
            "web": "http://www.cullenterrencepesq.com",
        },
        495: {
            "first_name": "Alesia",
            "last_name": "Hixenbaugh",
            "address_1": "9 Front St",
            "city": "Washington",
            "county": "District of Columbia",
            "state": "DC",
            "zip": "20001",
            "phone": "202-646-7516",
            "email": "alesia_hixenbaugh@hixenbaugh.org",
            "company_name": "Kwikprint",
            "phone2": "202-276-6826",
            "web": "http://www.kwikprint.com",
        },
        501: {
            "first_name": "Chauncey",
            "last_name": "Motley",
            "address_1": "63 E Aurora Dr",
            "city": "Orlando",
            "county": "Orange",
            "state": "FL",
            "zip": "32804",
            "phone": "407-413-4842",
            "email": "chauncey_motley@aol.com",
            "company_name": "Affiliated With Travelodge",
            "phone2": "407-557-8857",
            "web": "http://www.affiliatedwithtravelodge.com",
        },
    },
)

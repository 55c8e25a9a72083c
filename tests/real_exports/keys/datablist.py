"""datablist_leads100_crlf.csv: datablist's sample CRM lead list; no address at all.

Read by eye and counted (throwaway scripts): CRLF line ends, 14 columns, 100 rows; two
emails (`Email 1`, `Email 2`) and two phones (`Phone 1`, `Phone 2`) per row, 200 distinct
phones and 200 distinct emails; `Lead Owner` is another person's full name beside the
lead's own First Name and Last Name; no address, city, state or zip column. Every Phone 1
is a US number once its prefix (`+1-`, `001-`) and extension (`x5610`, 58 rows) are taken
off: ten digits, area and exchange codes 2-9 (`(850)241-9883x021`, `985.939.5411x2641`,
`4953467238`). So every phone 1 is the lead's phone, and no row needs Phone 2.

As it comes (`AS_IS`) the API cannot take a single lead (a zip is always required): leadup
refuses the file before sending anything, naming the missing zip, as it always did.

`WITH_ZIP`: a person who knows where these leads are (one event in one town, zip 10001)
writes a mapping file with that zip as a constant; every other column is mapped by leadup.
Then every row is created: Phone 1 is the phone (its extension goes as the extra field
`phone_extension`, digits as written: `x021` -> `021`), Phone 2 and Email 2 go as extras
as written, Lead Owner is never the lead's name.
"""

from tests.real_exports.keys import Key, created

FILE = "datablist_leads100_crlf.csv"
MD5 = "276d7ecf9886367dede9a5828988ec29"
COLUMNS = {
    "Index": "extra:index",
    "Account Id": "extra:account_id",
    "Lead Owner": "extra:lead_owner",  # someone else's name: never the lead's own
    "First Name": "field:first_name",
    "Last Name": "field:last_name",
    "Company": "extra:company",
    "Phone 1": "field:phone",
    "Phone 2": "also:phone:phone_2",
    "Email 1": "field:email",
    "Email 2": "also:email:email_2",
    "Website": "extra:website",
    "Source": "extra:source",
    "Deal Stage": "extra:deal_stage",
    "Notes": "extra:notes",
}

AS_IS = Key(
    name="datablist",
    file=FILE,
    md5=MD5,
    rows=range(2, 102),
    columns=COLUMNS,
    default=created(),  # never reached: the file is refused whole
    refused="no column maps to zip",
)

WITH_ZIP = Key(
    name="datablist_zip",
    file=FILE,
    md5=MD5,
    rows=range(2, 102),
    columns=COLUMNS,
    mapping_toml='[constants]\nzip = "10001"\n',
    default=created(),
    payloads={
        # 2: the first row, `+1-532-344-1362`. 3: `001-672-799-2170x5610`. 4: dots and an
        # extension. 6: ten bare digits. 10: `+1-` with a 5-digit extension. 11: an
        # extension with a leading zero, `(850)241-9883x021`. 27: `001-` and no extension.
        # 101: the last row.
        2: {
            "first_name": "Victor",
            "last_name": "Cochran",
            "email": "hatkinson@mclaughlin.com",
            "index": "1",
            "account_id": "0970F99ED4a2CE4",
            "lead_owner": "Bethany Dixon",
            "company": "Grimes, Madden and Huff",
            "phone_2": "2754733370",
            "email_2": "ygibbs@guzman.com",
            "website": "http://www.rosales-molina.com/",
            "source": "Retargeting Ads",
            "deal_stage": "New Lead",
            "notes": "Speak own such.",
            "phone": "532-344-1362",
            "zip": "10001",
        },
        3: {
            "first_name": "Maureen",
            "last_name": "Fuentes",
            "email": "bshelton@wilkins.org",
            "index": "2",
            "account_id": "e9AABddbCA4AFee",
            "lead_owner": "Andres Callahan",
            "company": "Crosby Inc",
            "phone_2": "+1-887-577-1205x5686",
            "email_2": "hunter84@jefferson.com",
            "website": "https://www.myers-mendez.biz/",
            "source": "Google Ads",
            "deal_stage": "Closed Won",
            "notes": "Consumer environment still.",
            "phone": "672-799-2170",
            "phone_extension": "5610",
            "zip": "10001",
        },
        4: {
            "first_name": "Ralph",
            "last_name": "Murillo",
            "email": "mmooney@savage-shaw.com",
            "index": "3",
            "account_id": "99CF54fE56dDc5e",
            "lead_owner": "Angel Ortega",
            "company": "Velasquez-Hardin",
            "phone_2": "+1-852-904-1856x071",
            "email_2": "kelsey70@leach.net",
            "website": "https://www.chase-miller.com/",
            "source": "Chatbot",
            "deal_stage": "Contacted",
            "notes": "Onto goal father easy development.",
            "phone": "985-939-5411",
            "phone_extension": "2641",
            "zip": "10001",
        },
        6: {
            "first_name": "Terri",
            "last_name": "Perry",
            "email": "katiepruitt@bauer.com",
            "index": "5",
            "account_id": "2C7aEb5e8F432Ab",
            "lead_owner": "Sharon Cruz",
            "company": "Maddox Group",
            "phone_2": "802-739-3164",
            "email_2": "collierjasmin@barton.com",
            "website": "http://vincent-harvey.info/",
            "source": "Referral",
            "deal_stage": "Closed Lost",
            "notes": "Manager poor this speak center team first.",
            "phone": "495-346-7238",
            "zip": "10001",
        },
        10: {
            "first_name": "Michaela",
            "last_name": "Wiggins",
            "email": "browningmadison@owen.org",
            "index": "9",
            "account_id": "7Dcbb0BFF8FE6Da",
            "lead_owner": "Craig Johnston",
            "company": "Glenn-Downs",
            "phone_2": "+1-945-328-6233x75220",
            "email_2": "mitchell89@ferrell.com",
            "website": "http://www.patton.biz/",
            "source": "Partner Program",
            "deal_stage": "Qualified",
            "notes": "Open site something which newspaper.",
            "phone": "899-254-7369",
            "phone_extension": "90482",
            "zip": "10001",
        },
        11: {
            "first_name": "Annette",
            "last_name": "Park",
            "email": "mbarnett@deleon.info",
            "index": "10",
            "account_id": "01364e70DA532bC",
            "lead_owner": "Ivan Duffy",
            "company": "Hobbs Ltd",
            "phone_2": "001-944-995-2866",
            "email_2": "tristanwhitehead@walls.com",
            "website": "https://www.shields.org/",
            "source": "Podcast",
            "deal_stage": "Negotiation",
            "notes": "Teach court event.",
            "phone": "850-241-9883",
            "phone_extension": "021",
            "zip": "10001",
        },
        27: {
            "first_name": "Kirk",
            "last_name": "Goodman",
            "email": "vdavidson@bennett-merritt.com",
            "index": "26",
            "account_id": "DEFf5f55A728ccF",
            "lead_owner": "Molly Carroll",
            "company": "Larsen Inc",
            "phone_2": "(634)526-0738",
            "email_2": "mario94@wheeler.net",
            "website": "https://www.cox.biz/",
            "source": "Referral",
            "deal_stage": "Contacted",
            "notes": "Letter power feeling place authority.",
            "phone": "740-335-4717",
            "zip": "10001",
        },
        101: {
            "first_name": "Charlotte",
            "last_name": "Browning",
            "email": "hbooth@ferrell-baker.com",
            "index": "100",
            "account_id": "DCabaF160FbDda8",
            "lead_owner": "Dillon Stephenson",
            "company": "Calderon LLC",
            "phone_2": "+1-818-816-2088x7516",
            "email_2": "carriekerr@spears.com",
            "website": "http://www.patton-pollard.com/",
            "source": "Content Marketing",
            "deal_stage": "Negotiation",
            "notes": "Talk executive hear only but book later.",
            "phone": "430-620-2165",
            "phone_extension": "822",
            "zip": "10001",
        },
    },
)

"""fakenamegen_100_original.csv: FakeNameGenerator's bulk output before Excel; 27 countries.

Read by eye and counted (throwaway scripts): UTF-8 BOM, LF line ends, 45 columns, 100 rows;
quoted cells where a comma sits (BrowserUserAgent, Vehicle, Occupation); a `Country`
column of ISO codes: CY 11, AT 9, IT 8, EE 7, ZA 6, CH 6 ... and only rows 82 (FL) and 98
(OR) in the US, row 78 in Canada; every CCNumber 16 digits and Luhn-valid (a card number
by its values as by its name), CVV2 3 digits, a Password on every row, NationalID on 32
rows (SSN-shaped `591-28-5104` on the US rows, a Canadian SIN on row 78).

Run as it comes, by a user of a US source (leadup's default country, so `--countries US`):
each row's own Country decides (issue item 4); the 98 rows of other countries are invalid,
naming their country, and the two US rows are created. CCNumber, CVV2, Password and
NationalID are held back (issue item 5): never sent, not even as extras, and the summary
says which and why.

Decided where the issue is silent: MothersMaiden (a classic security answer) and
CCExpires (an expiry date without its card number) are not in the agreed sensitive list
(card number, card security code, password, national id, social security number), so
they go as extras like every other column; a stricter list is a product decision, not a
key's. CCType ("Visa") names a brand, not a card.
"""

from tests.real_exports.keys import Key, created, invalid

# Each row's Country, as the file gives it, for every row outside the US.
FOREIGN = {
    2: "GL", 3: "PT", 4: "ZA", 5: "CY", 6: "EE", 7: "IT", 8: "ZA", 9: "CH", 10: "CY", 11: "FR",
    12: "EE", 13: "DK", 14: "FR", 15: "SE", 16: "IS", 17: "EE", 18: "AT", 19: "BE", 20: "IT",
    21: "PL", 22: "NO", 23: "IT", 24: "SI", 25: "BE", 26: "EE", 27: "HU", 28: "BR", 29: "GB",
    30: "CY", 31: "TN", 32: "ES", 33: "ES", 34: "TN", 35: "AT", 36: "DE", 37: "AT", 38: "CY",
    39: "CH", 40: "EE", 41: "CY", 42: "CH", 43: "CY", 44: "IS", 45: "CZ", 46: "AT", 47: "IT",
    48: "AT", 49: "CY", 50: "FR", 51: "IT", 52: "ZA", 53: "PL", 54: "CH", 55: "GL", 56: "IT",
    57: "CZ", 58: "IT", 59: "IT", 60: "NZ", 61: "GB", 62: "SI", 63: "CH", 64: "GL", 65: "CZ",
    66: "AT", 67: "GL", 68: "NO", 69: "NZ", 70: "NO", 71: "ZA", 72: "CH", 73: "BR", 74: "CY",
    75: "HU", 76: "CY", 77: "CY", 78: "CA", 79: "ES", 80: "AT", 81: "PL", 83: "DK", 84: "PL",
    85: "EE", 86: "BE", 87: "AT", 88: "GB", 89: "CY", 90: "AU", 91: "EE", 92: "ZA", 93: "AT",
    94: "NZ", 95: "ZA", 96: "CZ", 97: "IS", 99: "SI", 100: "ES", 101: "AU",
}  # fmt: skip

KEY = Key(
    name="fakenamegen",
    file="fakenamegen_100_original.csv",
    md5="fe78777e2885d2829aaaad760810950e",
    rows=range(2, 102),
    columns={
        "Number": "extra:number",
        "Gender": "extra:gender",
        "NameSet": "extra:name_set",
        "Title": "extra:title",  # Mrs., Dr.: not a lead field
        "GivenName": "field:first_name",
        "MiddleInitial": "extra:middle_initial",
        "Surname": "field:last_name",
        "StreetAddress": "field:address_1",
        "City": "field:city",
        "State": "field:state",
        "StateFull": "extra:state_full",  # the state spelled out: sent as written
        "ZipCode": "field:zip",
        "Country": "country",  # ISO codes: each row's own country; also sent as the extra "country"
        "CountryFull": "extra:country_full",  # the country spelled out; Country decides
        "EmailAddress": "field:email",
        "Username": "extra:username",
        "Password": "held:password",
        "BrowserUserAgent": "extra:browser_user_agent",
        "TelephoneNumber": "field:phone",  # name + values
        "TelephoneCountryCode": "extra:telephone_country_code",
        "MothersMaiden": "extra:mothers_maiden",  # not on the agreed list (docstring)
        "Birthday": "extra:birthday",
        "Age": "extra:age",
        "TropicalZodiac": "extra:tropical_zodiac",
        "CCType": "extra:cctype",  # the card's brand, not the card
        "CCNumber": "held:card number",
        "CVV2": "held:card security code",
        "CCExpires": "extra:ccexpires",  # an expiry date alone is no card (see the docstring)
        "NationalID": "held:national id",
        "UPS": "extra:ups",
        "WesternUnionMTCN": "extra:western_union_mtcn",
        "MoneyGramMTCN": "extra:money_gram_mtcn",
        "Color": "extra:color",
        "Occupation": "extra:occupation",
        "Company": "extra:company",
        "Vehicle": "extra:vehicle",
        "Domain": "extra:domain",
        "BloodType": "extra:blood_type",
        "Pounds": "extra:pounds",
        "Kilograms": "extra:kilograms",
        "FeetInches": "extra:feet_inches",
        "Centimeters": "extra:centimeters",
        "GUID": "extra:guid",
        "Latitude": "extra:latitude",
        "Longitude": "extra:longitude",
    },
    default=created(),
    exceptions={
        row: invalid(f"country {country} is not one this source takes")
        for row, country in FOREIGN.items()
    },
    # The card numbers, passwords and national ids of the two rows that are sent (their
    # CVV2, 3 digits, would match innocent digits: the exact bodies below rule it out).
    never_sent=(
        "4556890465838575",
        "jal6oNgoh",
        "591-28-5104",
        "5328604768229802",
        "pheiSha1aqu",
        "543-24-6755",
    ),
    payloads={
        # The two US rows, whole: not one held-back column among their keys.
        82: {
            "first_name": "Satu",
            "last_name": "Waltari",
            "address_1": "2071 Maryland Avenue",
            "city": "Pinellas",
            "state": "FL",
            "zip": "34624",
            "email": "satuwaltari@teleworm.us",
            "phone": "727-538-7059",
            "number": "81",
            "gender": "female",
            "name_set": "Finnish",
            "title": "Mrs.",
            "middle_initial": "A",
            "state_full": "Florida",
            "country": "US",
            "country_full": "United States",
            "username": "Stittair",
            "browser_user_agent": (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.13; rv:66.0) Gecko/20100101 Firefox/66.0"
            ),
            "telephone_country_code": "1",
            "mothers_maiden": "Viitala",
            "birthday": "9/16/1995",
            "age": "24",
            "tropical_zodiac": "Virgo",
            "cctype": "Visa",
            "ccexpires": "12/2024",
            "ups": "1Z 534 941 77 8508 193 2",
            "western_union_mtcn": "5257097378",
            "money_gram_mtcn": "69898015",
            "color": "Yellow",
            "occupation": "Soil scientist",
            "company": "White Hen Pantry",
            "vehicle": "2003 Daihatsu Terios",
            "domain": "kupitorta.com",
            "blood_type": "O+",
            "pounds": "141.0",
            "kilograms": "64.1",
            "feet_inches": "5' 5\"",
            "centimeters": "164",
            "guid": "37de7e34-2624-444a-978d-b1b758fbc993",
            "latitude": "27.864456",
            "longitude": "-82.748032",
        },
        98: {
            "first_name": "Agoti",
            "last_name": "Gyarmaty",
            "address_1": "793 Buena Vista Avenue",
            "city": "Corvallis",
            "state": "OR",
            "zip": "97330",
            "email": "gyarmatyagoti@jourrapide.com",
            "phone": "541-714-1388",
            "number": "97",
            "gender": "female",
            "name_set": "Hungarian",
            "title": "Mrs.",
            "middle_initial": "B",
            "state_full": "Oregon",
            "country": "US",
            "country_full": "United States",
            "username": "Eage1963",
            "browser_user_agent": (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_3) AppleWebKit/605.1.15 "
                "(KHTML, like Gecko) Version/12.0.3 Safari/605.1.15"
            ),
            "telephone_country_code": "1",
            "mothers_maiden": "Cseh",
            "birthday": "12/7/1963",
            "age": "56",
            "tropical_zodiac": "Sagittarius",
            "cctype": "MasterCard",
            "ccexpires": "8/2024",
            "ups": "1Z 238 019 37 1904 563 8",
            "western_union_mtcn": "2038177985",
            "money_gram_mtcn": "21602780",
            "color": "Blue",
            "occupation": "Licensed clinical social worker",
            "company": "Circuit Design",
            "vehicle": "2001 Suzuki Covie",
            "domain": "adrifza.com",
            "blood_type": "A+",
            "pounds": "140.8",
            "kilograms": "64.0",
            "feet_inches": "5' 4\"",
            "centimeters": "163",
            "guid": "b1f4eed7-ff6b-4671-bf5d-a04c6a7b4beb",
            "latitude": "44.597298",
            "longitude": "-123.334112",
        },
    },
)

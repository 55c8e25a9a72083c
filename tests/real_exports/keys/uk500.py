"""briandunning_uk500_quoted.csv: the UK sample list, run as a US source's user runs it.

Read by eye and counted (throwaway scripts): every field double-quoted, LF line ends; 11
columns; no state, only `county` (102 distinct: Kent, Greater London...); `postal` holds
500 distinct UK postcodes (every one `A9 9AA`, `A99 9AA`, `A9A 9AA`, `AA9 9AA`, `AA99 9AA`
or `AA9A 9AA`); phones all `01835-703597`-shaped; 500 distinct emails.

Why no `--country GB`: the sandbox is a US source (its zip rule is 5 US digits) and takes
no GB lead, so the user runs the file as it comes, with leadup's default country (US).
There is no country column, and every postcode plainly belongs to Great Britain: every row
is invalid naming the likely country ("looks like a GB postcode", issue item 4), never
padded or cut into a US ZIP, and nothing is sent.
"""

from tests.real_exports.keys import Key, invalid

KEY = Key(
    name="uk500",
    file="briandunning_uk500_quoted.csv",
    md5="9d1fb1d178855b7d70de03d80075ff26",
    rows=range(2, 502),
    columns={
        "first_name": "field:first_name",
        "last_name": "field:last_name",
        "company_name": "extra:company_name",
        "address": "field:address_1",
        "city": "field:city",
        "county": "field:county",
        "postal": "field:zip",
        "phone1": "field:phone",
        "phone2": "also:phone:phone2",
        "email": "field:email",
        "web": "extra:web",
    },
    default=invalid("looks like a GB postcode"),
)

"""salesforce_lead_sparse_multiline.csv: a demo org's hand-typed leads, with no address.

Read by eye and counted (throwaway scripts): UTF-8 BOM, LF line ends but a CRLF inside the
quoted Description of rows 6 and 13 (so 14 records on 17 lines: rows are records, numbered
as a spreadsheet shows them); 54 columns, 29 of them empty on every row, among them every
address column (Street, City, State, PostalCode, Country, the compound Address). Rows 9-15
repeat rows 2-8 under other Ids. Row 6 (and 13), "Gumball", has no FirstName, no email and
no phone. Rows 7 and 8 (Liza and Margery) share the phone 555-321-8967. Company is the
literal "None" on consumer rows: sent as written, as every extra is (the CRM holds it; it
is not leadup's to guess that a company is called nothing). Row 7's Description holds a
double space and "™️" (U+2122 U+FE0F): an extra goes as written, trimmed only.

As it comes (`AS_IS`), the file has a PostalCode column and no zip in it: every row is
invalid ("every lead needs a zip"); Gumball's rows also have no way to be reached.

`WITH_ZIP`: a person who knows where these leads are (say all from one trade show, zip
62701) writes a mapping file that leaves the empty PostalCode out and sends that zip on
every lead. Then: Gumball is invalid, rows 2, 3, 4, 5, 7 are created, and every later row
repeats an earlier lead's email or phone and is skipped, Margery's (8, 15) included since
she shares Liza's phone (leadup's rule: one email or phone, one lead; the first row wins).
"""

from tests.real_exports.keys import NO_CONTACT, Key, created, invalid, skipped

FILE = "salesforce_lead_sparse_multiline.csv"
MD5 = "4d97bfef351da835e6ee3bbd565e2342"


def _columns(postal_code: str) -> dict[str, str]:
    return {
        "Id": "extra:id",
        "IsDeleted": "empty:is_deleted",
        "MasterRecordId": "empty:master_record_id",
        "LastName": "field:last_name",
        "FirstName": "field:first_name",
        "Salutation": "extra:salutation",
        "Name": "extra:name",
        "Title": "extra:title",
        "Company": "extra:company",  # "None" for consumers: sent as written
        "Street": "empty:address_1",
        "City": "empty:city",
        "State": "empty:state",
        "PostalCode": postal_code,
        "Country": "empty:country",
        "Latitude": "empty:latitude",
        "Longitude": "empty:longitude",
        "GeocodeAccuracy": "empty:geocode_accuracy",
        "Address": "unsent",  # compound (empty here): never a value
        "Phone": "field:phone",
        "MobilePhone": "empty:mobile_phone",
        "Fax": "empty:fax",
        "Email": "field:email",
        "Website": "empty:website",
        "PhotoUrl": "extra:photo_url",
        "Description": "extra:description",  # row 6 and 13: a CRLF inside quotes
        "LeadSource": "extra:lead_source",
        "Status": "extra:status",
        "Industry": "extra:industry",
        "Rating": "empty:rating",
        "AnnualRevenue": "empty:annual_revenue",
        "NumberOfEmployees": "extra:number_of_employees",
        "OwnerId": "extra:owner_id",  # someone else: never a lead field
        "IsConverted": "empty:is_converted",
        "ConvertedDate": "empty:converted_date",
        "ConvertedAccountId": "empty:converted_account_id",
        "ConvertedContactId": "empty:converted_contact_id",
        "ConvertedOpportunityId": "empty:converted_opportunity_id",
        "IsUnreadByOwner": "extra:is_unread_by_owner",
        "CreatedDate": "extra:created_date",
        "CreatedById": "extra:created_by_id",
        "LastModifiedDate": "extra:last_modified_date",
        "LastModifiedById": "extra:last_modified_by_id",
        "SystemModstamp": "extra:system_modstamp",
        "LastActivityDate": "empty:last_activity_date",
        "LastViewedDate": "extra:last_viewed_date",
        "LastReferencedDate": "extra:last_referenced_date",
        "Jigsaw": "empty:jigsaw",
        "JigsawContactId": "empty:jigsaw_contact_id",
        "CompanyDunsNumber": "empty:company_duns_number",
        "DandbCompanyId": "empty:dandb_company_id",
        "EmailBouncedReason": "empty:email_bounced_reason",
        "EmailBouncedDate": "empty:email_bounced_date",
        "IndividualId": "empty:individual_id",
        "LeadType__c": "extra:lead_type_c",
    }


NO_ZIP = "every lead needs a zip"

AS_IS = Key(
    name="salesforce_sparse",
    file=FILE,
    md5=MD5,
    rows=range(2, 16),
    columns=_columns("field:zip"),
    default=invalid(NO_ZIP),
    exceptions={6: invalid(NO_ZIP, NO_CONTACT), 13: invalid(NO_ZIP, NO_CONTACT)},
)

WITH_ZIP = Key(
    name="salesforce_sparse_zip",
    file=FILE,
    md5=MD5,
    rows=range(2, 16),
    mapping_toml='[columns]\nPostalCode = "ignore"\n\n[constants]\nzip = "62701"\n',
    columns=_columns("unsent"),
    default=created(),
    exceptions={
        6: invalid(NO_CONTACT),
        8: skipped(7),  # Liza's phone
        9: skipped(2),
        10: skipped(3),
        11: skipped(4),
        12: skipped(5),
        13: invalid(NO_CONTACT),
        14: skipped(7),
        15: skipped(7),  # Margery again: the first row with her phone is Liza's
    },
    payloads={
        # 2: email and phone. 3: email only, company "None". 4: phone only. 5: email only.
        # 7: phone only; a double space and U+2122 U+FE0F in the Description.
        2: {
            "first_name": "Joe",
            "last_name": "Szyslak",
            "email": "j.szyslak@itsjustademo.com",
            "phone": "555-214-7314",
            "id": "00QNq00000BXU9AMAX",
            "salutation": "Mr.",
            "name": "Joe Szyslak",
            "title": "Owner",
            "company": "Moe's Bar",
            "photo_url": "/services/images/photo/00QNq00000BXU9AMAX",
            "description": (
                "Joes Bar is interested in our Radiant Thermal Systems to reduce his "
                "gas heating bill. Do they come in a Patio heater format too?"
            ),
            "lead_source": "Trade Show",
            "status": "New",
            "industry": "Food & Beverage",
            "number_of_employees": "1",
            "owner_id": "005Nq00000AU6ztIAD",
            "is_unread_by_owner": "1",
            "created_date": "2024-07-11T21:22:06.000+0000",
            "created_by_id": "005Nq00000AU6ztIAD",
            "last_modified_date": "2024-07-11T21:22:06.000+0000",
            "last_modified_by_id": "005Nq00000AU6ztIAD",
            "system_modstamp": "2024-07-11T21:22:06.000+0000",
            "last_viewed_date": "2024-07-11T21:22:06.000+0000",
            "last_referenced_date": "2024-07-11T21:22:06.000+0000",
            "lead_type_c": "Business",
            "zip": "62701",
        },
        3: {
            "first_name": "Brat",
            "last_name": "Sampson",
            "email": "brats@itsallgoodfununtil.com",
            "id": "00QNq00000BXU9BMAX",
            "salutation": "Mr.",
            "name": "Brat Sampson",
            "company": "None",
            "photo_url": "/services/images/photo/00QNq00000BXU9BMAX",
            "description": (
                "Hey man I hear you have some cool glow in the dark dog leashes like "
                "how much do they go for?"
            ),
            "status": "New",
            "owner_id": "005Nq00000AU6ztIAD",
            "is_unread_by_owner": "1",
            "created_date": "2024-07-11T21:22:06.000+0000",
            "created_by_id": "005Nq00000AU6ztIAD",
            "last_modified_date": "2024-07-11T21:22:06.000+0000",
            "last_modified_by_id": "005Nq00000AU6ztIAD",
            "system_modstamp": "2024-07-11T21:22:06.000+0000",
            "last_viewed_date": "2024-07-11T21:22:06.000+0000",
            "last_referenced_date": "2024-07-11T21:22:06.000+0000",
            "lead_type_c": "Consumer Retail",
            "zip": "62701",
        },
        4: {
            "first_name": "Abby",
            "last_name": "Someone",
            "phone": "555-372-6536",
            "id": "00QNq00000BXU9CMAX",
            "salutation": "Mr.",
            "name": "Abby Someone",
            "title": "Mr",
            "company": "Abby Normal Emporium",
            "photo_url": "/services/images/photo/00QNq00000BXU9CMAX",
            "description": "Do you carry a high voltage neck bolt jump start power pack",
            "status": "New",
            "industry": "Healthcare",
            "number_of_employees": "3",
            "owner_id": "005Nq00000AU6ztIAD",
            "is_unread_by_owner": "1",
            "created_date": "2024-07-11T21:22:06.000+0000",
            "created_by_id": "005Nq00000AU6ztIAD",
            "last_modified_date": "2024-07-11T21:22:06.000+0000",
            "last_modified_by_id": "005Nq00000AU6ztIAD",
            "system_modstamp": "2024-07-11T21:22:06.000+0000",
            "last_viewed_date": "2024-07-11T21:22:06.000+0000",
            "last_referenced_date": "2024-07-11T21:22:06.000+0000",
            "lead_type_c": "Business",
            "zip": "62701",
        },
        5: {
            "first_name": "Homer",
            "last_name": "Sampson",
            "email": "homer@sampsonfictionalfamilyfun.com",
            "id": "00QNq00000BXU9DMAX",
            "salutation": "Mr.",
            "name": "Homer Sampson",
            "company": "None",
            "photo_url": "/services/images/photo/00QNq00000BXU9DMAX",
            "description": "Want to know if our atomic toasters can toast donuts",
            "lead_source": "Website",
            "status": "Unqualified",
            "owner_id": "005Nq00000AU6ztIAD",
            "is_unread_by_owner": "1",
            "created_date": "2024-07-11T21:22:06.000+0000",
            "created_by_id": "005Nq00000AU6ztIAD",
            "last_modified_date": "2024-07-11T21:22:06.000+0000",
            "last_modified_by_id": "005Nq00000AU6ztIAD",
            "system_modstamp": "2024-07-11T21:22:06.000+0000",
            "last_viewed_date": "2024-07-11T21:22:06.000+0000",
            "last_referenced_date": "2024-07-11T21:22:06.000+0000",
            "lead_type_c": "Consumer Retail",
            "zip": "62701",
        },
        7: {
            "first_name": "Liza",
            "last_name": "Sampson",
            "phone": "555-321-8967",
            "id": "00QNq00000BXU9FMAX",
            "name": "Liza Sampson",
            "company": "None",
            "photo_url": "/services/images/photo/00QNq00000BXU9FMAX",
            "description": (
                "Liza really wants to purchase  one of our Reactor Relief\u2122\ufe0f "
                "Stress Ball as well a Atomic Alarm Clocks. she is super stressed "
                "about being late for school"
            ),
            "lead_source": "Advertisement",
            "status": "Working",
            "owner_id": "005Nq00000AU6ztIAD",
            "is_unread_by_owner": "1",
            "created_date": "2024-07-11T21:22:06.000+0000",
            "created_by_id": "005Nq00000AU6ztIAD",
            "last_modified_date": "2024-07-11T21:22:06.000+0000",
            "last_modified_by_id": "005Nq00000AU6ztIAD",
            "system_modstamp": "2024-07-11T21:22:06.000+0000",
            "last_viewed_date": "2024-07-11T21:22:06.000+0000",
            "last_referenced_date": "2024-07-11T21:22:06.000+0000",
            "lead_type_c": "Consumer Retail",
            "zip": "62701",
        },
    },
)

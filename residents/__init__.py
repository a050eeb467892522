"""Residents in the loop: their own accounts, reports with photos, status and feedback.

A resident signs in with their phone number and a one-time code (`new_code`,
`check_code`, throttled per number and per client), sent through notify's channels
(`ChannelSender`). Their account is linked to a household of the registry once a grid
worker or admin confirms it (`request_household`, `decide_link`). A report (`Draft`,
with up to three photos re-encoded by `clean_photo`) opens a case through
`cases.Workflow.intake_report`; the resident then sees their and their household's
cases step by step in plain words (`own_cases`, `own_case`), is told the outcome
(`deliver_outcomes`), rates it (`rate`) and may reopen it within the compound's window
(`reopen`); the announcements to their household reach them too (the API gives
announce `confirmed_residents`). Everything else is "not yours" (`NotYours`), exactly
like a case that does not exist. The package owns its tables (migrations 0025-0027;
0037 keeps the call-back numbers of reports staff took by phone, `record_phone_intake`);
the registry and the cases are read and changed only through their public functions.
"""

from residents._accounts import (
    Household,
    PendingLink,
    Resident,
    confirmed_residents,
    decide_link,
    get_resident,
    link_of,
    links,
    request_household,
    set_language,
    sign_out_everywhere,
    signed_in,
)
from residents._codes import CODE_TTL, Phone, check_code, new_code
from residents._errors import (
    NotYourHousehold,
    NotYours,
    PhotoRefused,
    PhotoTooLarge,
    ReportRefused,
    ResidentsError,
    ResidentsStoreError,
    SignInRefused,
    Throttled,
)
from residents._outcomes import ChannelSender, Sender, deliver_outcomes, purge_photos
from residents._photos import MAX_PHOTOS, MAX_UPLOAD_BYTES, Photo, clean_photo
from residents._reports import (
    Draft,
    OwnCase,
    ReportRecord,
    Step,
    Where,
    own_case,
    own_cases,
    photo,
    rate,
    record_phone_intake,
    reopen,
    report,
    report_record,
)
from residents._words import code_text

__all__ = [
    "CODE_TTL",
    "MAX_PHOTOS",
    "MAX_UPLOAD_BYTES",
    "ChannelSender",
    "Draft",
    "Household",
    "NotYourHousehold",
    "NotYours",
    "OwnCase",
    "PendingLink",
    "Phone",
    "Photo",
    "PhotoRefused",
    "PhotoTooLarge",
    "ReportRecord",
    "ReportRefused",
    "Resident",
    "ResidentsError",
    "ResidentsStoreError",
    "Sender",
    "SignInRefused",
    "Step",
    "Throttled",
    "Where",
    "check_code",
    "clean_photo",
    "code_text",
    "confirmed_residents",
    "decide_link",
    "deliver_outcomes",
    "get_resident",
    "link_of",
    "links",
    "new_code",
    "own_case",
    "own_cases",
    "photo",
    "purge_photos",
    "rate",
    "record_phone_intake",
    "reopen",
    "report",
    "report_record",
    "request_household",
    "set_language",
    "sign_out_everywhere",
    "signed_in",
]

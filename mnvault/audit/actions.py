"""What the audit log can say: every action the code writes, and every reason it gives for a
refusal or a failure, each with the label the audit page and its CSV show.

``audit.record`` refuses an action that is not listed here, so a new action cannot reach the
log without a label. A reason that is not listed is still written (a failure must never go
unrecorded for want of a label) and shown as its code; a test keeps this list complete.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    # Numbers: each is the vault operation (and the capability) of the same name.
    NUMBER_REVEAL = "number.reveal", _("Number shown")
    NUMBER_EXPORT = "number.export", _("Number provided for a document")
    NUMBER_STORE = "number.store", _("Number stored")
    NUMBER_IMPORT = "number.import", _("Numbers imported")
    NUMBER_PROVIDE = "number.provide", _("Number put into a statutory document")
    COLLECTION_REVIEW = "collection.review", _("Submission reviewed")

    # Collection (取得): invitations, what the invited person does, the handler's review.
    COLLECTION_INVITE = "collection.invite", _("Invitation issued")
    COLLECTION_WITHDRAW = "collection.withdraw", _("Invitation withdrawn")
    COLLECTION_REMIND = "collection.remind", _("Reminder sent")
    COLLECTION_LINK_OPENED = "collection.link_opened", _("Registration link opened")
    COLLECTION_IDENTITY_CHECK = "collection.identity_check", _("Registration: identity check")
    COLLECTION_NUMBER_ENTERED = "collection.number_entered", _("Registration: number entered")
    COLLECTION_DEPENDENT_ADDED = "collection.dependent_added", _("Registration: dependent added")
    COLLECTION_DEPENDENT_REMOVED = (
        "collection.dependent_removed",
        _("Registration: dependent removed"),
    )
    COLLECTION_DEPENDENT_CHANGE = (
        "collection.dependent_change",
        _("Registration: change to a dependent on record asked for"),
    )
    COLLECTION_DOCUMENT_ADDED = (
        "collection.document_added",
        _("Registration: identity document added"),
    )
    COLLECTION_DOCUMENT_REMOVED = (
        "collection.document_removed",
        _("Registration: identity document removed"),
    )
    COLLECTION_SUBMIT = "collection.submit", _("Registration submitted")
    COLLECTION_DOCUMENT_VIEW = "collection.document_view", _("Identity document viewed")
    COLLECTION_REVIEW_NUMBERS = (
        "collection.review_numbers",
        _("Submitted numbers shown for review"),
    )
    COLLECTION_APPROVE = "collection.approve", _("Submission approved")
    COLLECTION_SEND_BACK = "collection.send_back", _("Submission sent back")
    COLLECTION_DOCUMENTS_DESTROYED = (
        "collection.documents_destroyed",
        _("Identity document photos destroyed"),
    )
    COLLECTION_SETTINGS_UPDATE = "collection.settings.update", _("Collection settings changed")
    COLLECTION_REFUSAL_RECORD = (
        "collection.refusal.record",
        _("Refusal to provide the number recorded"),
    )
    COLLECTION_REFUSAL_WITHDRAW = (
        "collection.refusal.withdraw",
        _("Refusal to provide the number withdrawn"),
    )

    # Statutory documents (利用・提供): runs from payroll data, their production and provision.
    DOCUMENT_PREPARE = "document.prepare", _("Document run prepared from payroll data")
    DOCUMENT_ROW_CONFIRM = "document.row_confirm", _("Document row's match confirmed")
    DOCUMENT_ROW_EXCLUDE = "document.row_exclude", _("Document row left out")
    DOCUMENT_PRODUCE = "document.produce", _("Document production started")
    DOCUMENT_PRODUCED = "document.produced", _("Document produced")
    DOCUMENT_DOWNLOAD = "document.download", _("Document with numbers downloaded")
    DOCUMENT_COPIES_DOWNLOAD = (
        "document.copies_download",
        _("Recipients' copies downloaded"),
    )
    DOCUMENT_SUBMIT = "document.submit", _("Document marked submitted")
    DOCUMENT_WITHDRAW = "document.withdraw", _("Document run withdrawn")
    DOCUMENT_LEDGER_EXPORT = "document.ledger_export", _("Provision ledger exported")

    # Retention and disposal (廃棄).
    DECLARATIONS_RECORD = "retention.declarations", _("Withholding declarations recorded")
    DISPOSAL_PROPOSE = "disposal.propose", _("Disposal proposed")
    DISPOSAL_APPROVE = "disposal.approve", _("Disposal approved")
    DISPOSAL_REJECT = "disposal.reject", _("Disposal rejected")
    DISPOSAL_SHRED = "disposal.shred", _("Number destroyed (keys shredded)")
    DISPOSAL_CERTIFICATES_MAILED = (
        "disposal.certificates_mailed",
        _("Disposal certificates e-mailed to the people"),
    )
    DISPOSAL_CERTIFICATE_DOWNLOAD = (
        "disposal.certificate_download",
        _("Disposal certificate downloaded"),
    )
    DISPOSAL_DUE_NOTICE = "disposal.due_notice", _("Responsible managers told of people due")

    # People.
    PEOPLE_CREATE = "people.create", _("Person added")
    PEOPLE_UPDATE = "people.update", _("Person edited")
    PEOPLE_IMPORT = "people.import", _("People imported")
    PEOPLE_DEPENDENT_ENDED = "people.dependent_ended", _("No longer a dependent")

    # Accounts and roles.
    ACCOUNTS_USER_CREATE = "accounts.user.create", _("User account created")
    ACCOUNTS_ROLE_GRANT = "accounts.role.grant", _("Role granted")
    ACCOUNTS_ROLE_REVOKE = "accounts.role.revoke", _("Role revoked")
    ACCOUNTS_INSTALLATION_ADMIN_CREATE = (
        "accounts.installation_admin.create",
        _("Installation administrator created"),
    )
    ACCOUNTS_API_CLIENT_CREATE = "accounts.api_client.create", _("API client created")

    # Companies and their settings.
    COMPANIES_CREATE = "companies.create", _("Company created")
    COMPANIES_SETTINGS_UPDATE = "companies.settings.update", _("Company settings changed")

    # Signing in (the refusals, and what gives control of an account).
    AUTH_BAD_PASSWORD = "auth.bad_password", _("Sign-in: wrong password")
    AUTH_BAD_CODE = "auth.bad_code", _("Sign-in: wrong two-factor code")
    AUTH_LOCKED = "auth.locked", _("Sign-in: account locked")
    AUTH_THROTTLED = "auth.throttled", _("Sign-in: held back, too many failures from the source")
    AUTH_TIMEOUT = "auth.timeout", _("Session expired")
    AUTH_ENROLLED = "auth.enrolled", _("Two-factor phone set up")
    AUTH_PASSWORD_CHANGED = "auth.password_changed", _("Password changed")

    # Pages refused by network (domain R8).
    WEB_IP_REFUSED = "web.ip_refused", _("Refused: outside the allowed networks")

    # Keys, the log itself, and the demonstration data.
    KEYS_ROTATE_START = "keys.rotate.start", _("Key rotation started")
    KEYS_ROTATE_DONE = "keys.rotate.done", _("Key rotation finished")
    KEYS_EXPORT = "keys.export", _("Key file exported (passphrase-protected copy)")
    KEYS_RETIRED_DESTROY = (
        "keys.retired.destroy",
        _("Retired key-encryption key destroyed (its key-store backups expired)"),
    )
    AUDIT_EXPORT = "audit.export", _("Audit log exported")
    AUDIT_VERIFY = "audit.verify", _("Audit chain verified")
    AUDIT_WITNESS = "audit.witness", _("Signed checkpoint e-mailed to witnesses")
    DISPOSAL_CERTIFY = "disposal.certify", _("Disposal certificate issued")
    BACKUP_CREATE = "backup.create", _("Encrypted backup written")
    BACKUP_RESTORE = "backup.restore", _("Restored from a backup")
    BACKUP_PRUNE = "backup.prune", _("Old backup deleted")
    BACKUP_VERIFY = "backup.verify", _("Backup checked (restore drill)")
    DEMO_CREATE = "demo.create", _("Demonstration data created")


# Why an action was refused or failed: the codes the vault's decisions and errors carry, and
# those the other areas write.
REASONS: dict[str, Promise] = {
    # Who may reach a number (the vault's decisions).
    "role": _("The role does not allow it"),
    "scope": _("This kind of person is outside the user's scope"),
    "other_company": _("The person belongs to another company"),
    "no_purpose": _("No purpose was given"),
    "purpose_not_notified_by_company": _("The company does not notify this purpose"),
    "purpose_not_notified_to_person": _("This purpose was not notified to the person"),
    "reveal_rate": _("Too many numbers shown to the user in one hour"),
    "reauthenticate": _("The user's sign-in was too old: confirmation needed"),
    "company_reveal_rate": _("Too many numbers shown in the company in one hour"),
    "refused": _("Not allowed"),
    # Errors of the vault.
    "vault_error": _("Error in the vault"),
    "invalid_number": _("Not a valid individual number"),
    "length": _("The individual number does not have 12 digits"),
    "format": _("The individual number is not digits only"),
    "checksum": _("The check digit of the individual number is wrong"),
    "decryption_failed": _("The data could not be decrypted"),
    "key_unavailable": _("The key is not available"),
    "key_file_outdated": _("The server's key file is older than the key store"),
    "exists": _("The file exists already"),
    "passphrase": _("The passphrase is too short"),
    "not_written": _("The file could not be written"),
    "no_key": _("The person's key is gone (disposed)"),
    "not_stored": _("No number is stored"),
    "duplicate_number": _("The number is already stored for another person"),
    "channel": _("Unknown verification channel"),
    "document_kind": _("Unknown identity document kind"),
    "rotation_running": _("Another key rotation is running"),
    "state": _("The key state changed during the rotation"),
    "rotation_incomplete": _("Keys were left to rotate"),
    "no_person": _("No person to act on"),
    # Collection: the handler's review.
    "invitation_closed": _("The invitation can no longer be used"),
    "not_submitted": _("The submission is not awaiting review"),
    "already_stored": _("A number is already stored for this person"),
    "no_number": _("No number was entered"),
    "not_employee": _("Only employees declare dependents"),
    "documents": _("The identity documents do not verify the person"),
    "documents_not_uploaded": _("A document was ticked that was not uploaded"),
    "no_dependent_purpose": _("No purpose for which dependents' numbers may be kept"),
    # Collection: the invitation and what the person sends.
    "too_many": _("Too many items"),
    "not_on_record": _("The dependent is not on the employee's record"),
    "number": _("The number entered is not valid"),
    "too_large": _("The file is too large"),
    "empty": _("The file is empty"),
    "not_a_document": _("The file is not a photo or a PDF"),
    "too_many_pixels": _("The image is too large"),
    "too_many_pages": _("The PDF has too many pages"),
    "encrypted_pdf": _("The PDF is protected by a password"),
    "unreadable": _("The file cannot be read"),
    "wrong_birth_date": _("Wrong birth date"),
    "wrong_email_code": _("Wrong e-mail code"),
    "too_many_attempts": _("Too many failed identity checks"),
    "link_used": _("The link was already used"),
    "link_expired": _("The link has expired"),
    "link_revoked": _("The link was withdrawn"),
    "replaced": _("Replaced by a new invitation"),
    "revoked": _("Withdrawn by the office"),
    "send_failed": _("The e-mail could not be sent"),
    "closed": _("The invitation closed meanwhile"),
    # Collection: why identity document photos were destroyed.
    "approved": _("Submission approved, nothing to keep"),
    "sent_back": _("Submission sent back"),
    "retention_ended": _("Retention period ended"),
    "draft_discarded": _("Draft abandoned"),
    # Accounts, companies, pages.
    "grantor_role": _("The user's role does not allow it"),
    "not_installation_admin": _("Only the installation administrator may do this"),
    "network_not_allowed": _("Outside the allowed networks"),
    # Signing in.
    "bad_password": _("Wrong user name or password"),
    "bad_code": _("Wrong two-factor code"),
    "locked": _("Account locked"),
    "throttled": _("Too many failures from this source"),
    "timeout": _("Session expired"),
    # The log and imports.
    "chain_broken": _("The hash chain is broken"),
    "export_failed": _("The export could not be written"),
    "no_recipients": _("No responsible manager or auditor has an e-mail address"),
    "invalid_file": _("The file has errors"),
    # Statutory documents.
    "unreadable_file": _("The payroll file could not be read"),
    "run_problem": _("The document run could not do it in its state"),
    "holds_number": _("The payroll file held an individual number"),
    "encoding": _("The file is not UTF-8 or Shift_JIS"),
    "csv": _("The file is not valid CSV"),
    "header": _("The file's header row lacks a column"),
    "kind": _("Unknown document kind"),
    "year": _("No layout known for the year"),
    "correction": _("The correction does not match its original"),
    "payer": _("The payer's address is missing"),
    "nothing": _("No row could be produced"),
    "run_state": _("Not possible in the run's state"),
    "expired": _("The archive is no longer kept"),
    "no_copies": _("The run has no recipients' copies"),
    "method": _("No submission method given"),
    "date": _("The date is not possible"),
    # Disposal.
    "two_person": _("The proposer may not approve their own disposal"),
    "held": _("Still under a legal hold, and no reason given"),
    "batch_without_number": _("No number is held for someone in the batch"),
    "batch_state": _("Not possible in the batch's state"),
    "company": _("The person belongs to another company"),
    "disposal_problem": _("The disposal could not be done"),
    "backup_failed": _("The backup could not be made"),
    "archive_problem": _("A backup archive is missing, incomplete or altered"),
    "disposed": _("The number has been disposed of"),
}


def action_label(code: str) -> str:
    """The action in the active language; an unknown code (written before it was renamed, say)
    as it is."""
    return str(Action(code).label) if code in Action.values else code


def reason_label(code: str) -> str:
    """The reason in the active language; an unknown code as it is."""
    label = REASONS.get(code)
    return str(label) if label is not None else code

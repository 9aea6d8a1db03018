"""E-mails of collection: invitations, reminders and one-time codes, sent through the SMTP
server named by the environment (settings). An e-mail never holds a number: each is checked
before it leaves, as the audit log checks its entries (docs/architecture.md, invariant 1)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from mnvault.domain import numbers


class MailRefused(Exception):
    """The e-mail looked like it held an individual number and was not sent."""


def registration_link(token: str) -> str:
    return settings.MNVAULT_PUBLIC_URL.rstrip("/") + reverse("web:reg_open", args=[token])


def send(*, to: str, template: str, context: dict) -> None:
    """Render ``collection/mail/<template>.txt`` (first line: subject) in Japanese, the
    language of the people invited, and send it."""
    with translation.override(settings.LANGUAGE_CODE):
        text = render_to_string(f"collection/mail/{template}.txt", context)
    subject, _, body = text.strip().partition("\n")
    if numbers.holds_number(subject) or numbers.holds_number(body):
        raise MailRefused(template)
    EmailMessage(subject=subject.strip(), body=body.strip() + "\n", to=[to]).send()

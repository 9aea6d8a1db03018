"""Forms of the public registration pages (phone, no account). Like every form here they never
hand a number back (``SafeForm``)."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mnvault.collection.models import DocumentSide, IdentityDocument
from mnvault.domain import numbers
from mnvault.domain.identity import COMBINATIONS
from mnvault.people.models import Relationship
from mnvault.vault.errors import InvalidNumber
from mnvault.vault.models import DocumentKind
from mnvault.web.people_forms import DATE, NoEchoInput
from mnvault.web.safe_forms import SafeForm


def number_input() -> NoEchoInput:
    """Checked as the person types (static/web/number-check.js) and again on the server."""
    return NoEchoInput(
        attrs={
            "autocomplete": "off",
            "inputmode": "numeric",
            "data-mynumber": "",
            "aria-describedby": "number_check",
        }
    )


def clean_number(value: str) -> str:
    try:
        return numbers.validate(value)
    except InvalidNumber as error:
        raise forms.ValidationError(_number_message(error.code), code=error.code) from None


def _number_message(code: str) -> str:
    if code == "length":
        return gettext("An individual number has 12 digits.")
    if code == "checksum":
        return gettext("This number is not valid: its check digit does not match.")
    return gettext("This number is not valid: use only digits, spaces and hyphens.")


class BirthDateForm(SafeForm):
    birth_date = forms.DateField(label=_("Your birth date"), widget=DATE)


class CodeForm(SafeForm):
    code = forms.RegexField(
        label=_("The 6-digit code we sent by e-mail"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class NoticeForm(SafeForm):
    acknowledged = forms.BooleanField(label=_("I have read the purposes above."), required=True)


class NumberForm(SafeForm):
    number_fields = ("number",)
    number = forms.CharField(
        label=_("Your individual number"), max_length=40, widget=number_input()
    )

    def clean_number(self) -> str:
        return clean_number(self.cleaned_data["number"])


class CombinationForm(SafeForm):
    combination = forms.ChoiceField(
        label=_("Which documents will you show?"),
        choices=[(code, _(label)) for code, (label, _kinds) in COMBINATIONS.items()],
        widget=forms.RadioSelect,
    )


class DocumentForm(SafeForm):
    kind = forms.ChoiceField(label=_("Document"))
    file = forms.FileField(
        label=_("Photo or PDF"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/heic,image/heif,application/pdf"}
        ),
    )

    side = forms.ChoiceField(
        label=_("Side of the My Number card"),
        choices=DocumentSide.choices,
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(
        self, *args, combination: str, uploaded: Sequence[IdentityDocument] = (), **kwargs
    ) -> None:
        """``uploaded``: the photos already handed in, so the side still missing is offered
        first (a side left unchosen is that side, ``drafts.add_document``)."""
        super().__init__(*args, **kwargs)
        kinds = COMBINATIONS[combination][1]
        labels = dict(DocumentKind.choices)
        field = self.fields["kind"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(k, labels[k]) for k in kinds]
        if DocumentKind.MY_NUMBER_CARD not in kinds:
            del self.fields["side"]
            return
        have = {d.side for d in uploaded if d.kind == DocumentKind.MY_NUMBER_CARD}
        missing = [side for side in DocumentSide.values if side not in have]
        self.fields["side"].initial = missing[0] if missing else DocumentSide.FRONT


class DependentDetailsForm(SafeForm):
    """A dependent's details without a number: the new details of one on record."""

    family_name = forms.CharField(label=_("Family name"), max_length=100)
    given_name = forms.CharField(label=_("Given name"), max_length=100)
    family_name_kana = forms.CharField(label=_("Family name (kana)"), max_length=100)
    given_name_kana = forms.CharField(label=_("Given name (kana)"), max_length=100)
    relationship = forms.ChoiceField(label=_("Relationship"), choices=Relationship.choices)
    birth_date = forms.DateField(label=_("Birth date"), widget=DATE)


class DependentForm(DependentDetailsForm):
    number_fields = ("number",)
    number = forms.CharField(
        label=_("Their individual number"), max_length=40, widget=number_input()
    )

    def clean_number(self) -> str:
        return clean_number(self.cleaned_data["number"])


class ConfirmForm(SafeForm):
    attested = forms.BooleanField(
        label=_("I checked each dependent's identity and number with their documents myself."),
        required=False,
    )

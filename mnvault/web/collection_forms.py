"""Forms of the staff's collection pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mnvault.collection.models import CollectionSettings, Invitation
from mnvault.web.safe_forms import SafeForm, SafeModelForm


class InviteForm(SafeForm):
    delivery = forms.ChoiceField(choices=Invitation.Delivery.choices)
    people = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())
    everyone_waiting = forms.BooleanField(required=False)
    next_person = forms.IntegerField(required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Ids are checked against the company by the view's query; any integer parses here.
        self.fields["people"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        data = super().clean()
        if not data.get("everyone_waiting") and not data.get("people"):
            raise forms.ValidationError(_("Choose whom to invite."))
        return data


class CollectionSettingsForm(SafeModelForm):
    class Meta:
        model = CollectionSettings
        fields = [
            "invitation_days",
            "reminder_every_days",
            "email_code_required",
            "document_retention_days",
        ]

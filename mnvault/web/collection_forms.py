"""Forms of the staff's collection pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mnvault.collection.models import CollectionSettings, Invitation
from mnvault.web.safe_forms import SafeForm, SafeModelForm


class _PersonIdsField(forms.TypedMultipleChoiceField):
    def valid_value(self, value: object) -> bool:
        # Ids are checked against the company by the view's query; any integer parses here.
        return str(value).isdigit()


class InviteForm(SafeForm):
    delivery = forms.ChoiceField(choices=Invitation.Delivery.choices)
    people = _PersonIdsField(coerce=int, required=False, choices=())
    everyone_waiting = forms.BooleanField(required=False)
    next_person = forms.IntegerField(required=False)

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

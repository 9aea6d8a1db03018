"""Forms that never hand a number back (docs/architecture.md, invariant 1).

Django re-renders what was typed when a form has errors, and some of its messages repeat the
value ("Select a valid choice. X is not one of…"). A person who types their number into the
wrong box must not get it back in the page: after a failed validation every submitted value
that holds a number is blanked, and every message that holds one is replaced. A text field
that would store a number somewhere it does not belong (a name, a note, a user name) is
refused. Only the fields named in ``number_fields`` may hold one (and those render without
their value anyway).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from mnvault.domain import numbers

MISPLACED = _("This looks like an individual number; it does not belong here.")
INVALID = _("This value is not valid.")


class NoNumberEcho(forms.BaseForm):
    """A mixin: listed before ``forms.Form`` or ``forms.ModelForm`` among the bases."""

    number_fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data is None:  # as BaseForm._clean_form reads it: cleaned_data as it stands
            data = self.cleaned_data
        for name, field in self.fields.items():
            if name in self.number_fields or isinstance(field.widget, forms.PasswordInput):
                continue
            value = data.get(name)
            if isinstance(value, str) and numbers.holds_number(value):
                self.add_error(name, MISPLACED)
        return data

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or not self.errors:  # full_clean has just filled self.errors
            return
        data: MultiValueDict[str, Any] | dict[str, Any] = (
            self.data.copy() if isinstance(self.data, MultiValueDict) else dict(self.data)
        )
        for key in list(data.keys()):
            values = data.getlist(key) if isinstance(data, MultiValueDict) else [data[key]]
            if any(numbers.holds_number(str(v)) for v in values):
                data[key] = ""
        self.data = data
        for name, errors in list(self.errors.items()):
            if any(numbers.holds_number(str(e)) for e in errors):
                self.errors[name] = self.error_class(
                    # The stub of ErrorList.__init__ leaves out the lazy strings it holds.
                    [INVALID if numbers.holds_number(str(e)) else e for e in errors]  # type: ignore[misc]
                )


class SafeForm(NoNumberEcho, forms.Form):
    pass


class SafeModelForm(NoNumberEcho, forms.ModelForm):
    pass

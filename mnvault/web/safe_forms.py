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

from django import forms
from django.utils.translation import gettext_lazy as _

from mnvault.domain import numbers

MISPLACED = _("This looks like an individual number; it does not belong here.")
INVALID = _("This value is not valid.")


class NoNumberEcho:
    number_fields: tuple[str, ...] = ()

    def clean(self):
        data = super().clean()
        for name, field in self.fields.items():
            if name in self.number_fields or isinstance(field.widget, forms.PasswordInput):
                continue
            value = data.get(name)
            if isinstance(value, str) and numbers.holds_number(value):
                self.add_error(name, MISPLACED)
        return data

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or not self._errors:
            return
        data = self.data.copy()
        for key in list(data.keys()):
            values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
            if any(numbers.holds_number(str(v)) for v in values):
                data[key] = ""
        self.data = data
        for name, errors in list(self._errors.items()):
            if any(numbers.holds_number(str(e)) for e in errors):
                self._errors[name] = self.error_class(
                    [INVALID if numbers.holds_number(str(e)) else e for e in errors]
                )


class SafeForm(NoNumberEcho, forms.Form):
    pass


class SafeModelForm(NoNumberEcho, forms.ModelForm):
    pass

"""``makemessages`` for mnvault's catalogue, a developer's tool (run from the ``mnvault``
package directory: ``DJANGO_SETTINGS_MODULE=mnvault.settings django-admin makemessages -l ja``,
then ``django-admin compilemessages``). It lives in the web app, not in the command line's:
the ``mnvault`` command offers operators mnvault's own commands only.

Entries are sorted by msgid, one line each, and carry no source locations or creation date,
so that the .po changes only where a message does; there are no fuzzy guesses and no
obsolete entries, so a new message stays plainly untranslated (and
``web/tests/test_translations.py`` fails) until it is translated.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management.commands import makemessages

TIDY = ["--sort-output", "--no-location", "--no-wrap"]


class Command(makemessages.Command):
    msgmerge_options = [*makemessages.Command.msgmerge_options, *TIDY, "--no-fuzzy-matching"]
    msguniq_options = [*makemessages.Command.msguniq_options, *TIDY]
    msgattrib_options = [*makemessages.Command.msgattrib_options, *TIDY]
    xgettext_options = [*makemessages.Command.xgettext_options, "--no-location", "--no-wrap"]

    def handle(self, *args, **options):
        options["no_obsolete"] = True
        return super().handle(*args, **options)

    def write_po_file(self, potfile, locale):
        """As Django's, without the creation date msgmerge stamps in the header on every run."""
        super().write_po_file(potfile, locale)
        po = Path(potfile).parent / locale / "LC_MESSAGES" / f"{self.domain}.po"
        text = po.read_text(encoding="utf-8")
        po.write_text(re.sub(r'^"POT-Creation-Date: .*\n', "", text, flags=re.M), encoding="utf-8")

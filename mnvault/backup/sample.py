"""Run inside a restored installation by ``mnvault backup verify``: open a random sample of
numbers in memory and print only the counts (never a number), as JSON on stdout."""

from __future__ import annotations

import json
import random
import sys

import django


def main(size: int) -> dict[str, int]:
    django.setup()
    from mnvault.vault import api, keys
    from mnvault.vault.models import NumberRecord, NumberStatus

    keys.unlock(interactive=False)
    ids = list(
        NumberRecord.objects.filter(
            status=NumberStatus.ACTIVE, ciphertext__isnull=False
        ).values_list("pk", flat=True)
    )
    chosen = random.sample(ids, min(size, len(ids)))
    opened = 0
    records = NumberRecord.objects.filter(pk__in=chosen).select_related("person")
    for record in records:
        try:
            number = api.open_number(record.person, api.Field.NUMBER, record.ciphertext or b"")
        except Exception:  # noqa: S112 - counted, never shown
            continue
        opened += len(number) == 12 and number.isdigit()
        del number
    return {"active": len(ids), "sampled": len(chosen), "opened": opened}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(int(sys.argv[1]))) + "\n")

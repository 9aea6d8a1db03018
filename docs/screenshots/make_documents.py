"""PNG renderings of the statutory PDFs (usage.pdf), for the README and review: the tax
office's copy and the recipient's copy of a 源泉徴収票 and of a 支払調書.

Run by hand after a change to the layouts (not part of the test suite):

    .venv/bin/python docs/screenshots/make_documents.py

Generated data only: names are invented and every number comes from
``mnvault.domain.numbers.generate_fake`` (a valid check digit, never a real person's). The PDFs
live in a temporary folder that is deleted; only the PNGs stay.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import django
from stdnum.jp import cn

from mnvault.domain.numbers import generate_fake
from mnvault.usage.pdf import payment, withholding
from mnvault.usage.slips import (
    Payer,
    PaymentNumbers,
    PaymentSlip,
    Relative,
    WithholdingNumbers,
    WithholdingSlip,
)

OUT = Path(__file__).resolve().parent
rng = random.Random(20261123)


def corporate() -> str:
    body = "".join(str(rng.randrange(10)) for _ in range(12))
    return cn.calc_check_digit(body) + body


PAYER = Payer(
    "株式会社髙橋サンプル商事", "東京都千代田区霞が関三丁目1番1号 サンプルビル5階", "03-1234-5678"
)
CORPORATE = corporate()
SLIP = WithholdingSlip(
    year=2024,
    payer=PAYER,
    recipient_name="髙橋 花子",
    recipient_kana="タカハシ ハナコ",
    recipient_address="東京都世田谷区桜丘二丁目3番4号 サンプルハイツ101号室",
    recipient_title="課長",
    employee_code="E00123",
    birth_date=date(1985, 4, 12),
    payment_amount=5_234_000,
    after_deduction=3_674_400,
    deductions_total=1_512_000,
    tax_withheld=108_500,
    social_insurance=765_432,
    spouse=Relative("髙橋 太郎", "タカハシ タロウ", "老人"),
    dependents=(
        Relative("髙橋 一郎", "タカハシ イチロウ", "特定"),
        Relative("髙橋 二郎", "タカハシ ジロウ"),
        Relative("髙橋 梅", "タカハシ ウメ", "同居老親"),
        Relative("髙橋 花", "タカハシ ハナ", under_16=True),
    ),
    remarks="前職分を含む",
    joined_on=date(2024, 4, 1),
)
NUMBERS = WithholdingNumbers(
    generate_fake(rng), CORPORATE, generate_fake(rng), tuple(generate_fake(rng) for _ in range(4))
)
PAYMENT = PaymentSlip(
    year=2024,
    payer=PAYER,
    payee_name="髙田 翔",
    payee_kana="タカダ ショウ",
    payee_address="神奈川県横浜市中区サンプル町1-2-3",
    payee_code="P0042",
    category="原稿料",
    detail="雑誌寄稿",
    amount=330_000,
    tax_withheld=33_693,
    remarks="令和6年1月〜12月分",
)
PAYMENT_NUMBERS = PaymentNumbers(generate_fake(rng), CORPORATE)

DOCUMENTS = {
    "documents-withholding-tax-office": lambda out: withholding.tax_office_copy(
        [(SLIP, NUMBERS)], out
    ),
    "documents-withholding-recipient": lambda out: withholding.recipient_copy(SLIP, out),
    "documents-payment-tax-office": lambda out: payment.tax_office_copy(
        [(PAYMENT, PAYMENT_NUMBERS)], out
    ),
    "documents-payment-recipient": lambda out: payment.recipient_copy(PAYMENT, out),
}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnvault.settings")
    django.setup()  # messages of errors are translated through Django's settings
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in DOCUMENTS.items():
            pdf = Path(tmp) / f"{name}.pdf"
            with pdf.open("wb") as out:
                make(out)
            # The top half of page 1 (where the one slip is), at a legible resolution.
            subprocess.run(
                ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
                 "-H", "650", str(pdf), str(OUT / name)],
                check=True,
            )  # fmt: skip
            print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()

"""The statutory PDFs, read back with pypdf and rendered with pdftoppm: recipients' copies hold
no number (R31), authorities' copies hold each one, and the font travels with the file."""

from __future__ import annotations

import inspect
import io
import re
import subprocess
import typing
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from stdnum.jp import cn

from mnvault.usage.pdf import fonts, insurance, layout, payment, register, withholding
from mnvault.usage.slips import (
    InsuranceNotice,
    Payer,
    PaymentNumbers,
    PaymentSlip,
    RegisterEntry,
    RegisterNumbers,
    Relative,
    WithholdingNumbers,
    WithholdingSlip,
)

PAYER = Payer("株式会社髙橋テスト商事", "東京都千代田区霞が関三丁目1番1号", "03-1234-5678")


@pytest.fixture
def make_corporate(rng):
    def make() -> str:
        body = "".join(str(rng.randrange(10)) for _ in range(12))
        return cn.calc_check_digit(body) + body

    return make


def withholding_pair(i, make_number, corporate):
    dependents = (
        Relative(f"髙橋 一郎{i}", "タカハシ イチロウ", "特定"),
        Relative(f"髙橋 二郎{i}", "", ""),
        Relative(f"髙橋 三郎{i}", "", ""),
        Relative(f"髙橋 四郎{i}", "", ""),
        Relative(f"髙橋 五郎{i}", "", ""),  # the fifth: number in 備考
        Relative(f"髙橋 花{i}", "", "", under_16=True),
    )
    slip = WithholdingSlip(
        year=2024,
        payer=PAYER,
        recipient_name=f"髙橋 花子{i}",
        recipient_kana="タカハシ ハナコ",
        recipient_address="東京都世田谷区桜丘二丁目3番4号",
        employee_code=f"E{i:05d}",
        birth_date=date(1985, 4, 12),
        payment_amount=5_234_000,
        after_deduction=3_674_400,
        deductions_total=1_512_000,
        tax_withheld=108_500,
        social_insurance=765_432,
        spouse=Relative(f"髙橋 太郎{i}", "タカハシ タロウ"),
        dependents=dependents,
    )
    numbers = WithholdingNumbers(
        recipient=make_number(),
        payer_corporate_number=corporate,
        spouse=make_number(),
        dependents=tuple(make_number() for _ in dependents),
    )
    return slip, numbers


def payment_pair(i, make_number, corporate):
    slip = PaymentSlip(
        year=2024,
        payer=PAYER,
        payee_name=f"髙田 翔{i}",
        payee_address="神奈川県横浜市中区本町1-2-3",
        category="原稿料",
        amount=330_000,
        tax_withheld=33_693,
    )
    return slip, PaymentNumbers(make_number(), corporate)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squeezed(text: str) -> str:
    return re.sub(r"[\s\-‐－]", "", text)


def assert_holds_none(pdf: bytes, secrets: list[str]) -> None:
    text = text_of(pdf)
    flat = squeezed(text)
    for secret in secrets:
        assert secret not in text and secret not in flat


def assert_holds_all(pdf: bytes, secrets: list[str]) -> None:
    flat = squeezed(text_of(pdf))
    missing = [i for i, s in enumerate(secrets) if s not in flat]
    assert not missing, f"numbers at positions {missing} are missing"


def withholding_secrets(numbers: WithholdingNumbers, *, under_16: bool) -> list[str]:
    found = [numbers.recipient, numbers.payer_corporate_number, numbers.spouse]
    found += list(numbers.dependents if under_16 else numbers.dependents[:5])
    return [n for n in found if n]


def made(call, *args, **kwargs) -> bytes:
    out = io.BytesIO()
    call(*args, out, **kwargs)
    return out.getvalue()


def test_withholding_tax_office_copy_holds_every_number_and_recipient_copy_none(
    make_number, make_corporate
):
    corporate = make_corporate()
    pairs = [withholding_pair(i, make_number, corporate) for i in range(3)]
    out = io.BytesIO()
    pages = withholding.tax_office_copy(pairs, out)
    assert pages == 2 == len(PdfReader(io.BytesIO(out.getvalue())).pages)
    for _slip, numbers in pairs:
        assert_holds_all(out.getvalue(), withholding_secrets(numbers, under_16=False))
    recipient = made(withholding.recipient_copies, [slip for slip, _ in pairs])
    every = [s for _, n in pairs for s in withholding_secrets(n, under_16=True)]
    assert_holds_none(recipient, every)
    assert "髙橋 花子0" in text_of(recipient)  # the slip itself is there


def test_the_tax_office_copy_leaves_under_16_numbers_to_the_municipality(
    make_number, make_corporate
):
    slip, numbers = withholding_pair(0, make_number, make_corporate())
    child = numbers.dependents[5]
    assert child not in squeezed(text_of(made(withholding.tax_office_copy, [(slip, numbers)])))
    municipal = made(withholding.municipality_copy, [(slip, numbers)])
    assert_holds_all(municipal, withholding_secrets(numbers, under_16=True))


def test_a_single_recipient_copy_holds_no_number(make_number, make_corporate):
    slip, numbers = withholding_pair(7, make_number, make_corporate())
    pdf = made(withholding.recipient_copy, slip)
    assert_holds_none(pdf, withholding_secrets(numbers, under_16=True))
    assert "個人番号" not in text_of(pdf) and "法人番号" not in text_of(pdf)


def test_payment_copies(make_number, make_corporate):
    corporate = make_corporate()
    pairs = [payment_pair(i, make_number, corporate) for i in range(3)]
    tax = made(payment.tax_office_copy, pairs)
    for _slip, numbers in pairs:
        assert_holds_all(tax, [numbers.payee, numbers.payer_corporate_number])
    recipient = made(payment.recipient_copies, [slip for slip, _ in pairs])
    assert_holds_none(recipient, [n.payee for _, n in pairs] + [corporate])
    assert "髙田 翔2" in text_of(recipient)
    assert_holds_none(made(payment.recipient_copy, pairs[0][0]), [corporate, pairs[0][1].payee])


def test_it_refuses_a_recipient_copy_whose_remarks_hold_a_number(make_number, make_corporate):
    slip, _ = withholding_pair(0, make_number, make_corporate())
    number = make_number()
    typed = WithholdingSlip(**{**slip.__dict__, "remarks": f"番号 {number[:4]}-{number[4:]}"})
    with pytest.raises(layout.NumberInSlip) as caught:
        made(withholding.recipient_copy, typed)
    assert number not in str(caught.value) and "remarks" in str(caught.value)
    payee = PaymentSlip(year=2024, payer=Payer("株式会社テスト", make_corporate()), payee_name="X")
    with pytest.raises(layout.NumberInSlip):
        made(payment.recipient_copy, payee)


@pytest.mark.parametrize("module", [withholding, payment])
def test_no_function_that_makes_a_recipient_copy_takes_numbers(module):
    for name in ("recipient_copy", "recipient_copies"):
        hints = typing.get_type_hints(getattr(module, name))
        assert not any("Numbers" in repr(h) for h in hints.values()), name
        assert len(inspect.signature(getattr(module, name)).parameters) == 2


def test_register_and_insurance_sheet_hold_their_numbers(make_number):
    entries = [
        (
            RegisterEntry(2025, f"髙橋 花子{i}", f"E{i}", (Relative("髙橋 太郎", category="妻"),)),
            RegisterNumbers(make_number(), (make_number(),)),
        )
        for i in range(60)  # more than a page
    ]
    out = io.BytesIO()
    pages = register.number_register(entries, out, company_name="株式会社テスト", year=2025)
    assert pages == len(PdfReader(io.BytesIO(out.getvalue())).pages) >= 2
    text = text_of(out.getvalue())
    assert register.PURPOSE in squeezed(text) or register.PURPOSE in text
    assert "最後のものの保存期間" in text
    assert_holds_all(
        out.getvalue(), [n for _, r in entries for n in (r.employee, *r.relatives) if n]
    )

    notices = [
        (InsuranceNotice("雇用保険資格取得届", date(2025, 4, 1), f"髙田 翔{i}"), make_number())
        for i in range(5)
    ]
    sheet = made(insurance.notice_sheet, notices, company_name="株式会社テスト")
    assert_holds_all(sheet, [n for _, n in notices])
    assert "公式の様式ではありません" in text_of(sheet)


def embedded_fonts(pdf: bytes) -> list[bool]:
    """For every font any page or form uses: whether its file is embedded."""
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        page_resources: typing.Any = page["/Resources"].get_object()
        resources: list[typing.Any] = [page_resources]
        for xobject in page_resources.get("/XObject", {}).values():
            resources.append(xobject.get_object().get("/Resources", {}))
        for res in resources:
            for font in res.get("/Font", {}).values():
                descriptor = font.get_object().get("/FontDescriptor")
                found.append(descriptor is not None and "/FontFile2" in descriptor.get_object())
    return found


def test_every_font_is_embedded(make_number, make_corporate):
    slip, numbers = withholding_pair(0, make_number, make_corporate())
    for pdf in (
        made(withholding.tax_office_copy, [(slip, numbers)]),
        made(withholding.recipient_copy, slip),
        made(insurance.notice_sheet, [], company_name="株式会社テスト"),
    ):
        found = embedded_fonts(pdf)
        assert found and all(found)


def render(pdf: bytes, tmp_path: Path) -> Image.Image:
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", source, tmp_path / "page"],
        check=True,
    )
    source.unlink()  # it holds (generated) numbers: no copy stays behind
    return Image.open(next(tmp_path.glob("page*.png"))).convert("L")


def dark_pixels(image: Image.Image) -> int:
    return sum(image.histogram()[:128])


def test_page_one_renders_with_ink(make_number, make_corporate, tmp_path):
    slip, numbers = withholding_pair(0, make_number, make_corporate())
    image = render(made(withholding.tax_office_copy, [(slip, numbers)]), tmp_path)
    assert dark_pixels(image) > 2000
    blank = io.BytesIO()
    canvas = layout.new_canvas(blank, "blank")
    canvas.showPage()
    canvas.save()
    for png in tmp_path.glob("*.png"):
        png.unlink()
    assert dark_pixels(render(blank.getvalue(), tmp_path)) == 0  # the check can fail


def test_taka_with_ladder_renders_as_a_glyph_not_a_missing_box(tmp_path):
    """IPAex has 髙: the name is drawn (ink where it stands), not a .notdef box, and it is
    extracted back as itself."""
    from reportlab.pdfbase.ttfonts import TTFont

    face = TTFont("probe", str(fonts.find(fonts.GOTHIC)))
    assert ord("髙") in face.face.charToGlyph
    pdf = made(payment.recipient_copy, PaymentSlip(2024, PAYER, payee_name="髙"))
    assert "髙" in text_of(pdf)


def test_a_missing_font_is_an_error_naming_the_packages(tmp_path, monkeypatch):
    monkeypatch.setenv("MNVAULT_PDF_FONT_DIR", str(tmp_path))
    with pytest.raises(fonts.FontNotFound) as caught:
        fonts.find(fonts.MINCHO)
    message = str(caught.value)
    assert "fonts-ipaexfont-mincho" in message and "fonts-ipaexfont-gothic" in message
    assert fonts.font_dirs() == (tmp_path,)


def test_the_font_folder_setting_is_used(tmp_path, monkeypatch):
    (tmp_path / "ipaexm.ttf").symlink_to(fonts.find(fonts.MINCHO))
    monkeypatch.setenv("MNVAULT_PDF_FONT_DIR", str(tmp_path))
    assert fonts.find(fonts.MINCHO) == tmp_path / "ipaexm.ttf"


@pytest.mark.parametrize(
    ("year", "expected"), [(2019, "令和元年分"), (2024, "令和6年分"), (2025, "令和7年分")]
)
def test_document_year_is_in_reiwa(year, expected):
    assert layout.document_year(year) == expected


def test_era_dates():
    assert layout.era_date(date(1985, 4, 12)) == ("昭", 60, 4, 12)
    assert layout.era_date(date(1989, 1, 8)) == ("平", 1, 1, 8)
    assert layout.era_date(date(2019, 5, 1)) == ("令", 1, 5, 1)

"""What one statutory document says about one person, split in two: the part without any
number (``…Slip``), which every copy shows, and the numbers (``…Numbers``), which only the
copies for an authority carry.

The split is the guarantee of domain R31 and R32 by construction: a recipient's copy (the
源泉徴収票 handed to the employee, a 支払調書 copy handed to a payee) is built from a ``…Slip``
alone, and no function that makes one accepts a ``…Numbers``. Nothing here is ever filled from
the vault except the ``…Numbers`` objects, which ``usage.provision`` builds inside the vault's
audited transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Payer:
    """支払者: the company as it appears on the document (its 法人番号 is a number: see
    ``…Numbers.payer_corporate_number``)."""

    name: str
    address: str
    phone: str = ""


@dataclass(frozen=True)
class Relative:
    """A spouse or dependent listed on a 源泉徴収票 (控除対象配偶者, 控除対象扶養親族,
    16歳未満の扶養親族), without the number. ``person_id`` links the row to the vault's person
    when matched; None when the payroll file names someone mnvault does not hold."""

    name: str
    kana: str = ""
    category: str = ""  # 区分 as the payroll file gives it (e.g. 老人, 同居老親, 特定)
    under_16: bool = False
    person_id: int | None = None


@dataclass(frozen=True)
class WithholdingSlip:
    """給与所得の源泉徴収票 / 給与支払報告書 of one employee for one year, without numbers.
    Amounts in yen; None where the payroll file left the box empty."""

    year: int  # the calendar year of the income (… 年分)
    payer: Payer
    recipient_name: str
    recipient_kana: str = ""
    recipient_address: str = ""
    recipient_title: str = ""  # 役職 (an officer's title)
    employee_code: str = ""  # 受給者番号
    birth_date: date | None = None
    payment_kind: str = "給料・賞与"  # 種別
    payment_amount: int = 0  # 支払金額
    after_deduction: int | None = None  # 給与所得控除後の金額
    deductions_total: int | None = None  # 所得控除の額の合計額
    tax_withheld: int = 0  # 源泉徴収税額
    social_insurance: int | None = None  # 社会保険料等の金額
    spouse: Relative | None = None
    dependents: tuple[Relative, ...] = ()  # 控除対象扶養親族 and 16歳未満, in file order
    remarks: str = ""  # 摘要
    joined_on: date | None = None  # 中途就職
    left_on: date | None = None  # 中途退職
    year_end_adjusted: bool = True  # 年末調整 done (R33's thresholds differ)
    person_id: int | None = None


@dataclass(frozen=True)
class WithholdingNumbers:
    """The numbers the tax office's copy of a 源泉徴収票 carries (R31): the employee's, the
    spouse's and each dependent's (in the order of ``WithholdingSlip.dependents``; None for a
    relative without a number), and the payer's 法人番号."""

    recipient: str
    payer_corporate_number: str
    spouse: str | None = None
    dependents: tuple[str | None, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class PaymentSlip:
    """報酬、料金、契約金及び賞金の支払調書 (309) of one payee for one year, without numbers."""

    year: int
    payer: Payer
    payee_name: str
    payee_kana: str = ""
    payee_address: str = ""
    payee_code: str = ""  # the company's own code for the payee (Person.employee_code)
    category: str = ""  # 区分 (e.g. 原稿料, 弁護士報酬)
    detail: str = ""  # 細目
    amount: int = 0  # 支払金額
    tax_withheld: int = 0  # 源泉徴収税額
    remarks: str = ""  # 摘要
    person_id: int | None = None


@dataclass(frozen=True)
class PaymentNumbers:
    """The numbers the tax office's copy of a 支払調書 carries: the payee's 個人番号 and the
    payer's 法人番号."""

    payee: str
    payer_corporate_number: str


@dataclass(frozen=True)
class RegisterEntry:
    """One employee's line in the number register (帳簿, domain R26) that lets employees leave
    numbers off their 扶養控除等申告書: whose numbers the company already holds. Names only
    here; the numbers come in ``RegisterNumbers``."""

    year: int  # the declaration year it serves
    employee_name: str
    employee_code: str = ""
    relatives: tuple[Relative, ...] = ()
    person_id: int | None = None


@dataclass(frozen=True)
class RegisterNumbers:
    employee: str
    relatives: tuple[str | None, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class InsuranceNotice:
    """One person's line of a social- or employment-insurance notification (雇用保険 資格取得届
    / 資格喪失届, 健康保険・厚生年金保険 資格取得届), without the number: the data a handler
    transcribes onto the official form or into the filing program."""

    form: str  # the form's name as printed (e.g. 雇用保険被保険者資格取得届)
    event_date: date | None  # 取得年月日 / 喪失年月日 (離職日の翌日)
    name: str
    kana: str = ""
    birth_date: date | None = None
    employee_code: str = ""
    remarks: str = ""  # free text from the input (e.g. 喪失原因, 賃金)
    person_id: int | None = None

"""How long the statutory PDFs take for N people (default 10,000), and how much memory.

    .venv/bin/python bench/document_pdfs.py [--people N]

Each case runs in a fresh child process (so its peak memory, VmHWM, is its own) writing to a
sink that counts bytes (nothing on disk: the tax office's copy holds generated numbers):

- withholding tax office: ``withholding.tax_office_copy`` of N slips with numbers
- withholding recipient: ``withholding.recipient_copies`` of the same N slips
- baseline: the same page count drawn by a bare reportlab canvas, one line of text a page in
  the same embedded font. It leaves out the grid (drawn once per document as a form here),
  the ~60 text runs a slip, the shrink-to-fit measuring, the number cells and the check of
  each recipient slip for typed numbers.

Also at N/10, to show how time and memory grow with N.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import time
from datetime import date

SINK_BYTES = 0


class Sink:
    """A write-only file that keeps nothing."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def slips(n: int, with_numbers: bool):
    from stdnum.jp import cn

    from mnvault.domain.numbers import generate_fake
    from mnvault.usage.slips import Payer, Relative, WithholdingNumbers, WithholdingSlip

    rng = random.Random(1)
    body = "".join(str(rng.randrange(10)) for _ in range(12))
    corporate = cn.calc_check_digit(body) + body
    payer = Payer("株式会社ベンチ商事", "東京都千代田区霞が関三丁目1番1号", "03-1234-5678")
    for i in range(n):
        slip = WithholdingSlip(
            year=2024,
            payer=payer,
            recipient_name=f"髙橋 花子{i}",
            recipient_kana="タカハシ ハナコ",
            recipient_address="東京都世田谷区桜丘二丁目3番4号",
            employee_code=f"E{i:06d}",
            birth_date=date(1985, 4, 12),
            payment_amount=5_000_000 + i,
            after_deduction=3_500_000,
            deductions_total=1_500_000,
            tax_withheld=100_000,
            social_insurance=700_000,
            spouse=Relative("髙橋 太郎", "タカハシ タロウ"),
            dependents=(Relative("髙橋 一郎", "", "特定"), Relative("髙橋 花", "", "", True)),
        )
        if with_numbers:
            yield slip, WithholdingNumbers(
                generate_fake(rng), corporate, generate_fake(rng),
                (generate_fake(rng), generate_fake(rng)),
            )  # fmt: skip
        else:
            yield slip


def run(case: str, n: int, queue) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnvault.settings")
    import django

    django.setup()
    from mnvault.usage.pdf import fonts, layout, withholding

    fonts.register()  # loading the font files is start-up, not per-document work
    sink = Sink()
    items = list(slips(n, with_numbers=case == "withholding tax office"))
    before = peak_mb()  # the input, built up front so that it stays out of the timing
    start = time.perf_counter()
    cpu = time.process_time()
    if case == "withholding tax office":
        pages = withholding.tax_office_copy(items, sink)  # type: ignore[arg-type]
    elif case == "withholding recipient":
        pages = withholding.recipient_copies(items, sink)  # type: ignore[arg-type]
    else:
        canvas = layout.new_canvas(sink, "baseline")  # type: ignore[arg-type]
        pages = (n + 1) // 2
        for i in range(pages):
            canvas.setFont(fonts.GOTHIC.name, 10)
            canvas.drawString(50, 800, f"令和6年分 給与所得の源泉徴収票 {i}")
            canvas.showPage()
        canvas.save()
    queue.put((time.perf_counter() - start, time.process_time() - cpu, pages, sink.size,
               before, peak_mb()))  # fmt: skip


def measure(case: str, n: int) -> tuple:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=run, args=(case, n, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'case':26} {'people':>7} {'pages':>6} {'wall s':>7} {'cpu s':>6} "
          f"{'pages/s':>8} {'MB out':>7} {'MB before':>9} {'peak MB':>8}")  # fmt: skip
    for n in (args.people // 10, args.people):
        for case in ("withholding tax office", "withholding recipient", "baseline"):
            wall, cpu, pages, size, before, peak = measure(case, n)
            print(f"{case:26} {n:>7} {pages:>6} {wall:>7.2f} {cpu:>6.2f} {pages / wall:>8.0f} "
                  f"{size / 1e6:>7.1f} {before:>9.0f} {peak:>8.0f}")  # fmt: skip


if __name__ == "__main__":
    main()

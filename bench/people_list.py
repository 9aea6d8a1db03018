"""How long the people list takes to answer, in server time, for a company of 10,000 people.

Issue 3 aims at 300 ms. Measured in-process through Django's test client (the whole request:
middleware, session, the query, template rendering), as a staff user, for the first page, a
search by kana, a filter by kind and number status, and the last page. Baseline in the same
run: the same first-page query as plain SQL with sqlite3, no framework.

    .venv/bin/python bench/people_list.py [--people N] [--runs R]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import time
from pathlib import Path

import _installation as inst  # beside this script, so on sys.path

BASELINE_SQL = """
SELECT p.id, p.family_name, p.given_name, p.family_name_kana, p.given_name_kana,
       p.employee_code, p.kind,
       EXISTS (SELECT 1 FROM vault_numberrecord n WHERE n.person_id = p.id AND n.status = 'active')
FROM people_person p WHERE p.company_id = ?
ORDER BY p.family_name_kana, p.given_name_kana, p.id LIMIT 50
"""


def timed(call, runs: int) -> float:
    """The median of ``runs`` calls, in milliseconds, after one warm-up call."""
    call()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with inst.scratch("people") as tmp:
        data = Path(tmp)
        inst.init(data)
        inst.use(data)
        from django.test import Client
        from django.test.utils import setup_test_environment

        from mnvault.accounts.models import Membership, Role, User
        from mnvault.audit.log import Actor
        from mnvault.demo import create_demo
        from mnvault.people.models import Person

        setup_test_environment()  # lets the test client talk to 'testserver'
        inst.say(f"creating {args.people} people ...")
        demo = create_demo(
            actor=Actor.system("bench"),
            name="ベンチ株式会社",
            people=args.people,
            rng=random.Random(1),
        )
        company = demo.company
        staff = User.objects.create_user(username="bench-staff", password=None)
        Membership.objects.create(user=staff, company=company, role=Role.STAFF)
        client = Client()
        client.force_login(staff)
        url = f"/c/{company.pk}/people/"
        count = Person.objects.filter(company=company).count()
        last = (count + 49) // 50
        cases = {
            "first page": {},
            "search by kana": {"q": "サトウ"},
            "kind + number filter": {"kind": "employee", "status": "stored"},
            "collection status filter": {"collection": "not_invited"},
            "last page": {"page": last},
        }
        results = {}
        for name, query in cases.items():
            response = client.get(url, query)
            assert response.status_code == 200, (name, response.status_code)
            results[name] = timed(lambda q=query: client.get(url, q), args.runs)
        db = sqlite3.connect(data / "mnvault.sqlite3")
        baseline = timed(lambda: db.execute(BASELINE_SQL, [company.pk]).fetchall(), args.runs)
        print(f"people list, {count} people in one company, median of {args.runs} runs")
        print(f"  {'case':24} {'server ms':>10} {'x baseline':>11}")
        for name, ms in results.items():
            print(f"  {name:24} {ms:10.1f} {ms / baseline:11.1f}")
        print(f"  {'baseline (raw SQL)':24} {baseline:10.1f}")
        worst = max(results.values())
        verdict = "met" if worst <= 300 else "MISSED"
        print(f"slowest {worst:.1f} ms; aim 300 ms {verdict}")


if __name__ == "__main__":
    main()

"""What authenticating every audit entry at commit costs a reveal.

Issue 9 closes the unsigned tail of the audit log: each entry gets an HMAC-SHA256 of its
sequence number and hash under a key derived from the signing key, made under the head lock
in the reveal's own transaction (``mnvault.audit.log.record``). This script reveals numbers
through the real service (``reveal_number``: role, purpose, decryption, audit entry, one
transaction each) with the MAC and, in the same run and the same installation, without it
(the MAC functions replaced by ones that return nothing, which is what ``record`` did before).
The two alternate in rounds so that drift on a shared machine falls on both alike. It also
times the MAC alone, and an Ed25519 signature per entry for comparison (the alternative the
issue named; verifying one costs far more, see docs/threat-model.md).

Usage: ``.venv/bin/python bench/reveal_signing.py [--reveals N] [--rounds R] [--people P]``
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

import _installation as inst  # beside this script, so on sys.path


def per_call_us(call, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        call()
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reveals", type=int, default=4000, help="reveals each way (4000)")
    parser.add_argument("--rounds", type=int, default=8, help="alternating rounds (8)")
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    print(
        f"reveal_signing: {args.reveals} reveals with and {args.reveals} without the per-entry "
        f"MAC, {args.rounds} rounds, {os.cpu_count()} CPUs, load {os.getloadavg()}"
    )
    with inst.scratch("reveal") as tmp:
        data = Path(tmp) / "data"
        inst.init(data)
        inst.use(data)
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from mnvault.accounts.models import Membership, Role, User
        from mnvault.audit import signing
        from mnvault.audit.actors import Actor
        from mnvault.audit.checkpoints import write_checkpoint
        from mnvault.audit.models import AuditEntry
        from mnvault.audit.verify import verify
        from mnvault.demo import create_demo
        from mnvault.people.models import Person
        from mnvault.vault.services import reveal_number

        inst.say(f"creating {args.people} people with numbers ...")
        demo = create_demo(
            actor=Actor.system("bench"),
            name="ベンチ株式会社",
            people=args.people,
            rng=random.Random(args.seed),
        )
        handler = User.objects.get(
            pk=Membership.objects.get(company=demo.company, role=Role.HANDLER).user_id
        )
        people = list(Person.objects.filter(company=demo.company, number_record__isnull=False))
        rng = random.Random(args.seed)

        real_mac, real_mac_key = signing.mac, signing.mac_key

        def without_mac() -> None:
            signing.mac = lambda key, seq, entry_hash: ""
            signing.mac_key = lambda: b""

        def with_mac() -> None:
            signing.mac, signing.mac_key = real_mac, real_mac_key

        def reveal_batch(count: int) -> tuple[float, float]:
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(count):
                reveal_number(acting_user=handler, person=rng.choice(people), purpose="withholding")
            return time.perf_counter() - started, time.process_time() - cpu

        reveal_batch(200)  # warm-up: caches, the key, the database pages
        per_round = max(args.reveals // args.rounds, 1)
        walls: dict[str, list[float]] = {"with": [], "without": []}
        cpus: dict[str, list[float]] = {"with": [], "without": []}
        for index in range(args.rounds):
            order = ["with", "without"] if index % 2 == 0 else ["without", "with"]
            for way in order:
                (with_mac if way == "with" else without_mac)()
                wall, cpu = reveal_batch(per_round)
                walls[way].append(wall / per_round * 1000)
                cpus[way].append(cpu / per_round * 1000)
        with_mac()
        done = per_round * args.rounds

        key = signing.mac_key()
        mac_us = per_call_us(lambda: signing.mac(key, 123456, "ab" * 32), 100_000)
        key_us = per_call_us(signing.mac_key, 100_000)
        ed = Ed25519PrivateKey.generate()
        message = b"mnvault-audit-checkpoint:v1|count=123456|head=" + b"ab" * 32
        signature = ed.sign(message)
        sign_us = per_call_us(lambda: ed.sign(message), 5_000)
        check_us = per_call_us(lambda: ed.public_key().verify(signature, message), 5_000)

        print()
        print(f"{'':28} {'ms/reveal':>10} {'CPU ms':>8} {'rounds (ms/reveal)':>20}")
        for way in ("without", "with"):
            rounds = " ".join(f"{value:.2f}" for value in walls[way])
            print(
                f"{way + ' per-entry MAC':28} {statistics.median(walls[way]):>10.3f} "
                f"{statistics.median(cpus[way]):>8.3f}   {rounds}"
            )
        ratio = statistics.median(walls["with"]) / statistics.median(walls["without"])
        cpu_ratio = statistics.median(cpus["with"]) / statistics.median(cpus["without"])
        print()
        print(f"{done} reveals each way; medians of {args.rounds} rounds")
        print(f"with / without: {ratio:.3f}x wall, {cpu_ratio:.3f}x CPU")
        print(
            f"the MAC work of one append: {key_us + mac_us:.1f} µs "
            f"(the key, checked for a change: {key_us:.1f} µs; HMAC-SHA256: {mac_us:.1f} µs)"
        )
        print(f"Ed25519 instead: sign {sign_us:.1f} µs, verify {check_us:.1f} µs per entry")
        print(f"load average at the end: {os.getloadavg()}")

        # The entries written without a MAC are what an installation upgraded from before
        # MACs holds: verify accepts them once a signed checkpoint covers them.
        write_checkpoint()
        result = verify()
        if not result.ok:
            raise SystemExit(f"verify did not pass: {result.message}")
        macs = AuditEntry.objects.exclude(mac="").count()
        print(f"verify: OK, {result.entries} entries, {macs} with a MAC")


if __name__ == "__main__":
    main()

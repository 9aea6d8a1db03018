"""Rate limits of the public registration pages, per client address and per invitation.

Counted in Django's cache: per process on the office PC (the default local-memory cache);
several app servers share their limits only when given a shared cache. The invitation's own
failure counters (birth date, e-mail code) are in the database and hold everywhere.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache

# (requests, seconds): what one address or one invitation may do in that window. One address
# may be a whole office behind NAT, registering on the same morning: generous per address;
# a wrong guess at a link is what is limited hard.
PER_ADDRESS = (600, 600)
PER_INVITATION = (120, 600)
UNKNOWN_LINKS_PER_ADDRESS = (10, 600)
CODES_PER_INVITATION = (3, 3600)  # e-mails with a one-time code


def _key(scope: str, subject: str) -> str:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"mnvault:rl:{scope}:{digest}"


def hit(scope: str, subject: str, limit: tuple[int, int]) -> bool:
    """Count one request; False once ``subject`` went over ``limit`` in its window."""
    allowed, window = limit
    key = _key(scope, subject)
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= allowed


def over(scope: str, subject: str, limit: tuple[int, int]) -> bool:
    """Whether ``subject`` is over ``limit`` already, without counting this request."""
    return (cache.get(_key(scope, subject)) or 0) >= limit[0]

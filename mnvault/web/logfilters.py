"""A logging filter for every handler: the path of an invitation link holds its token, and
Django logs request paths (a 500, a 404); the token is masked before any line is written."""

from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(r"/r/[A-Za-z0-9_\-]+")
MASKED = "/r/…"


def mask(value: object) -> object:
    return TOKEN_PATH.sub(MASKED, value) if isinstance(value, str) else value


class MaskInvitationTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(mask(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: mask(arg) for key, arg in record.args.items()}
        return True

"""What an operator sees when pg_dump or pg_restore fails: the client's own error line, with
nothing of a row in it (a DETAIL line, or a value quoted in the error itself)."""

from __future__ import annotations

from django.utils import translation

from mnvault.backup import postgres

NAME = "山田".encode()
STDERR = b"\n".join(
    [
        b"pg_restore: while PROCESSING TOC:",
        b"pg_restore: from TOC entry 3456; 0 16390 TABLE DATA people_person mnvault",
        b'pg_restore: error: COPY failed for table "people_person": ERROR:  invalid input '
        b'syntax for type date: "1980-13-45 ' + NAME + b'"',
        b'CONTEXT:  COPY people_person, line 1, column birth_date: "1980-13-45 ' + NAME + b'"',
        b"DETAIL:  Key (code)=(E000123) already exists.",
    ]
)


def test_a_failure_shows_the_error_line_without_any_value_of_a_row():
    with translation.override("en"):
        message = str(postgres._failure("pg_restore", "default", STDERR))
    assert message.startswith("pg_restore failed on the ")
    assert "invalid input syntax for type date" in message
    for value in ("1980-13-45", "山田", "E000123", "people_person"):
        assert value not in message


def test_a_failure_without_an_error_line_still_names_the_program():
    with translation.override("en"):
        message = str(postgres._failure("pg_dump", "keys", b"something else\n"))
    assert message.endswith(": pg_dump: error")

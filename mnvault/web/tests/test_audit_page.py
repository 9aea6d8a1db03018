"""Audit log page: company scope, filters, CSV export and chain verification (domain R3, R7,
R19), every refusal a 404, and export and verification themselves audited."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from mnvault.audit import log as audit
from mnvault.audit.actions import REASONS, Action
from mnvault.audit.actors import Actor
from mnvault.audit.models import AuditEntry, Outcome
from mnvault.conftest import ALL_DATABASES, log_role_grants, make_person
from mnvault.vault.errors import Refused
from mnvault.vault.services import Verification, reveal_number, store_number

pytestmark = pytest.mark.django_db(databases=ALL_DATABASES)
ALLOWED = ["responsible_manager", "auditor"]
ROW = re.compile(r'<tr class="outcome-[a-z]+">\s*<td>(\d+)</td>')
REFUSED = ["company_admin", "handler", "staff", "installation_admin", "no_role", "other_handler"]


def url(name: str, company) -> str:
    return reverse(f"web:{name}", args=[company.pk])


def store(user, person, number: str) -> None:
    store_number(
        acting_user=user,
        person=person,
        number=number,
        purposes=["withholding"],
        verification=Verification(channel="in_person", document_kinds=["my_number_card"]),
    )


@pytest.fixture
def history(personas, employee, make_number) -> dict:
    """Stored numbers in both companies, a reveal and a refused reveal in ours."""
    ours, theirs = make_number(), make_number()
    store(personas.handler, employee, ours)
    reveal_number(acting_user=personas.handler, person=employee, purpose="withholding")
    with pytest.raises(Refused):  # the refusal is what is audited
        reveal_number(acting_user=personas.auditor, person=employee, purpose="withholding")
    other = make_person(personas.other_company, family_name="他社")
    store(personas.other_handler, other, theirs)
    return {"numbers": [ours, theirs], "employee": employee, "other": other}


def seqs(response) -> list[int]:
    """The sequence numbers of the entries shown, in page order."""
    body = response.content.decode().split('<table id="audit">')[1].split("</table>")[0]
    return [int(seq) for seq in ROW.findall(body)]


def grouped(number: str) -> list[str]:
    return [
        number,
        f"{number[:4]} {number[4:8]} {number[8:]}",
        f"{number[:4]}-{number[4:8]}-{number[8:]}",
    ]


def our_seqs(company) -> list[int]:
    found = AuditEntry.objects.filter(company_id=company.pk).order_by("-seq")
    return list(found.values_list("seq", flat=True))


# --- who may see it --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALLOWED)
def test_managers_and_auditors_see_their_companys_entries_newest_first(
    signed_in, personas, history, role
):
    response = signed_in(getattr(personas, role)).get(url("audit", personas.company))
    assert response.status_code == 200
    assert seqs(response) == our_seqs(personas.company)
    page = response.content.decode()
    employee = history["employee"]
    assert f'href="/c/{personas.company.pk}/people/{employee.pk}/"' in page
    for text in ["個人番号の表示", "個人番号の登録", "拒否", "源泉徴収票作成事務", "role"]:
        assert text in page
    assert "インストール全体" in page  # the chain is global, and the page says so


@pytest.mark.parametrize("persona", REFUSED)
def test_everyone_else_gets_404_and_nothing_is_recorded(signed_in, personas, history, persona):
    client = signed_in(getattr(personas, persona))
    before = AuditEntry.objects.count()
    assert client.get(url("audit", personas.company)).status_code == 404
    assert client.get(url("audit_csv", personas.company)).status_code == 404
    assert client.post(url("audit_verify", personas.company)).status_code == 404
    assert AuditEntry.objects.count() == before


def test_the_navigation_links_the_page_only_for_those_allowed(signed_in, personas):
    link = f'href="{url("audit", personas.company)}"'
    dashboard = url("dashboard", personas.company)
    assert link in signed_in(personas.auditor).get(dashboard).content.decode()
    assert link not in signed_in(personas.handler).get(dashboard).content.decode()


def test_a_company_never_sees_anothers_entries(signed_in, personas, history):
    theirs = set(our_seqs(personas.other_company))
    assert theirs
    client = signed_in(personas.auditor)
    assert not theirs & set(seqs(client.get(url("audit", personas.company))))
    # Not by asking for the other company's person either, nor through the CSV.
    other = client.get(url("audit", personas.company), {"person": history["other"].pk})
    assert seqs(other) == [] and "他社" not in other.content.decode()
    lines = csv_rows(client.get(url("audit_csv", personas.company)))[1:]
    assert not theirs & {int(line[0]) for line in lines}
    # And the other company's own users see only theirs.
    response = signed_in(personas.other_handler).get(url("audit", personas.other_company))
    assert response.status_code == 404  # a handler does not see the audit log at all


# --- filters ---------------------------------------------------------------------------------


def test_filter_by_person_id_and_name(signed_in, personas, history, make_number):
    someone = make_person(personas.company, family_name="佐藤", family_name_kana="サトウ")
    store(personas.handler, someone, make_number())
    client = signed_in(personas.auditor)
    by_id = client.get(url("audit", personas.company), {"person": someone.pk})
    expected = list(
        AuditEntry.objects.filter(person_id=someone.pk)
        .order_by("-seq")
        .values_list("seq", flat=True)
    )
    assert seqs(by_id) == expected and expected
    by_name = client.get(url("audit", personas.company), {"person_name": "サトウ"})
    assert seqs(by_name) == expected
    page = by_name.content.decode()
    # The picker offers the people of that name, each a link to filter by their id.
    assert f"?person={someone.pk}" in page and "この名前の人" in page


def test_filter_by_actor_action_and_outcome(signed_in, personas, history):
    client = signed_in(personas.responsible_manager)
    page = url("audit", personas.company)
    mine = AuditEntry.objects.filter(company_id=personas.company.pk)
    by_actor = seqs(client.get(page, {"actor": "auditor"}))
    assert by_actor == list(mine.filter(actor_label="auditor").values_list("seq", flat=True)) != []
    by_action = seqs(client.get(page, {"action": "number.reveal"}))
    assert set(by_action) == set(mine.filter(action="number.reveal").values_list("seq", flat=True))
    assert len(by_action) == 2
    by_outcome = seqs(client.get(page, {"outcome": "refused"}))
    assert by_outcome == list(mine.filter(outcome="refused").values_list("seq", flat=True)) != []
    both = seqs(client.get(page, {"action": "number.reveal", "outcome": "ok"}))
    assert len(both) == 1


def test_the_action_select_offers_the_actions_present(signed_in, personas, history):
    page = signed_in(personas.auditor).get(url("audit", personas.company)).content.decode()
    assert '<option value="number.store">' in page
    assert '<option value="keys.rotate.start">' not in page


def test_filter_by_date_range_in_japanese_days(signed_in, personas, history):
    # 2026-01-01 23:30 in Tokyo is 14:30 UTC: it belongs to the first of January.
    first = AuditEntry.objects.filter(company_id=personas.company.pk).earliest("seq")
    AuditEntry.objects.filter(pk=first.pk).update(
        created_at=datetime(2026, 1, 1, 14, 30, tzinfo=UTC)
    )
    client = signed_in(personas.auditor)
    page = url("audit", personas.company)
    assert seqs(client.get(page, {"since": "2026-01-01", "until": "2026-01-01"})) == [first.seq]
    assert first.seq not in seqs(client.get(page, {"since": "2026-01-02"}))
    assert seqs(client.get(page, {"until": "2025-12-31"})) == []
    shown = client.get(page, {"since": "2026-01-01", "until": "2026-01-01"}).content.decode()
    assert "2026-01-01 23:30:00" in shown  # times in Asia/Tokyo


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"person": "abc"}, "person", "整数"),
        ({"person": "0"}, "person", "1"),
        ({"since": "2026-13-45"}, "since", "日付"),
        ({"until": "yesterday"}, "until", "日付"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "until", "終了日が開始日より前です"),
        ({"actor": "nobody-by-that-name"}, "actor", "この会社にこの名前のユーザーはいません"),
        ({"actor": "other_handler"}, "actor", "この会社にこの名前のユーザーはいません"),
        ({"action": "no.such.action"}, "action", "正しく選択"),
        ({"outcome": "maybe"}, "outcome", "正しく選択"),
        ({"person_name": "山田1"}, "person_name", "氏名に数字は含まれません"),
    ],
)
def test_bad_filters_are_field_errors(signed_in, personas, history, params, field, message):
    response = signed_in(personas.auditor).get(url("audit", personas.company), params)
    assert response.status_code == 400
    page = response.content.decode()
    error = page.split(f'id="id_{field}_error"')[1].split("</p>")[0]
    assert message in error
    assert f'aria-describedby="id_{field}_error"' in page and 'aria-invalid="true"' in page
    assert seqs(response) == [] and "CSVでダウンロード" not in page


@pytest.mark.parametrize("field", ["person", "person_name", "actor", "since"])
def test_a_number_as_a_filter_is_refused_and_not_echoed(signed_in, personas, history, field):
    number = history["numbers"][0]
    client = signed_in(personas.auditor)
    for typed in grouped(number):
        for view in ("audit", "audit_csv"):
            before = AuditEntry.objects.count()
            response = client.get(url(view, personas.company), {field: typed}, follow=True)
            assert response.redirect_chain == [(url("audit", personas.company), 302)]
            page = response.content.decode()
            assert "個人番号では絞り込めません" in page
            assert not any(form in page for form in grouped(number))
            assert AuditEntry.objects.count() == before  # no export happened


def test_pagination_keeps_the_filters(signed_in, personas, employee, make_number):
    store(personas.handler, employee, make_number())
    for _ in range(60):
        reveal_number(acting_user=personas.handler, person=employee, purpose="withholding")
    client = signed_in(personas.auditor)
    first = client.get(url("audit", personas.company), {"action": "number.reveal"})
    assert len(seqs(first)) == 50 and "1 / 2" in first.content.decode()
    assert "action=number.reveal&amp;page=2" in first.content.decode()
    second = client.get(url("audit", personas.company), {"action": "number.reveal", "page": 2})
    assert len(seqs(second)) == 10 and set(seqs(first)).isdisjoint(seqs(second))


def test_the_page_speaks_english_too(signed_in, personas, history):
    client = signed_in(personas.auditor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(url("audit", personas.company)).content.decode()
    assert "Audit log" in page and "Number shown" in page and "Verify the chain" in page


# One refusal or failure of each area, as the code writes it: action and reason are shown in
# words in the reader's language, their codes kept only where a program reads them.
AREAS = [
    (Action.NUMBER_REVEAL, Outcome.REFUSED, "purpose_not_notified_to_person"),
    (Action.COLLECTION_APPROVE, Outcome.FAILED, "already_stored"),
    (Action.COLLECTION_IDENTITY_CHECK, Outcome.REFUSED, "wrong_birth_date"),
    (Action.ACCOUNTS_ROLE_GRANT, Outcome.REFUSED, "grantor_role"),
    (Action.COMPANIES_SETTINGS_UPDATE, Outcome.REFUSED, "role"),
    (Action.WEB_IP_REFUSED, Outcome.REFUSED, "network_not_allowed"),
    (Action.PEOPLE_IMPORT, Outcome.FAILED, "invalid_file"),
    (Action.AUDIT_VERIFY, Outcome.FAILED, "chain_broken"),
]
TAG = re.compile(r"<[^>]+>")


@pytest.fixture
def refusals(personas) -> list[AuditEntry]:
    with transaction.atomic():
        return [
            audit.record(
                actor=Actor.of(personas.responsible_manager),
                action=action,
                outcome=outcome,
                reason=reason,
                company_id=personas.company.pk,
            )
            for action, outcome, reason in AREAS
        ]


def text_of(markup: str) -> str:
    return html.unescape(TAG.sub(" ", markup))


def shown_rows(response) -> dict[int, list[str]]:
    """The text of each cell of the table, by sequence number."""
    body = response.content.decode().split('<table id="audit">')[1].split("</table>")[0]
    rows = {}
    for row in re.findall(r'<tr class="outcome-[a-z]+">(.*?)</tr>', body, re.S):
        cells = [" ".join(text_of(c).split()) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        rows[int(cells[0])] = cells
    return rows


@pytest.mark.parametrize("language", ["ja", "en"])
def test_actions_and_reasons_are_shown_in_words(signed_in, personas, refusals, language):
    client = signed_in(personas.auditor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url("audit", personas.company))
    rows = shown_rows(response)
    with translation.override(language):
        for entry in refusals:
            action, reason = rows[entry.seq][3], rows[entry.seq][7]
            assert action == str(Action(entry.action).label), entry.action
            assert reason == str(REASONS[entry.reason]), entry.reason
    shown = text_of(response.content.decode())
    for entry in refusals:
        assert entry.action not in shown
        assert "_" not in entry.reason or entry.reason not in shown
    page = response.content.decode()  # the codes stay at hand, as tooltips
    assert '<span title="collection.approve">' in page
    assert '<span title="purpose_not_notified_to_person">' in page


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_csv_has_actions_and_reasons_in_words_and_codes(
    signed_in, personas, refusals, language
):
    client = signed_in(personas.auditor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    lines = csv_rows(client.get(url("audit_csv", personas.company)))
    by_seq = {int(line[0]): line for line in lines[1:]}
    with translation.override(language):
        assert lines[0][4:6] == [translation.gettext("Action"), translation.gettext("Action code")]
        assert lines[0][9:11] == [translation.gettext("Reason"), translation.gettext("Reason code")]
        for entry in refusals:
            line = by_seq[entry.seq]
            assert line[4:6] == [str(Action(entry.action).label), entry.action]
            assert line[9:11] == [str(REASONS[entry.reason]), entry.reason]


def test_the_labels_are_japanese_by_default(signed_in, personas, refusals):
    rows = shown_rows(signed_in(personas.auditor).get(url("audit", personas.company)))
    cells = {(rows[e.seq][3], rows[e.seq][7]) for e in refusals}
    assert ("提出の承認", "この人の番号は保管済み") in cells
    assert ("役割の付与", "操作者の役割では許可されていない") in cells


# --- CSV -------------------------------------------------------------------------------------


def csv_body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_body(response).removeprefix("\ufeff"))))


def test_the_csv_export(signed_in, personas, history):
    client = signed_in(personas.auditor)
    response = client.get(url("audit_csv", personas.company))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-company')
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    body = csv_body(response)
    assert body.startswith("\ufeff")  # so that Excel reads UTF-8
    lines = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert lines[0] == [
        "番号",
        "日時 (日本時間)",
        "操作者",
        "操作者の氏名",
        "操作",
        "操作コード",
        "対象者ID",
        "利用目的",
        "結果",
        "理由",
        "理由コード",
        "接続元アドレス",
        "詳細",
        "記録のハッシュ",
    ]
    # Every entry of the company up to the export's own record, newest first.
    assert [int(line[0]) for line in lines[1:]] == our_seqs(personas.company)
    export = AuditEntry.objects.get(seq=int(lines[1][0]))
    assert (export.action, export.actor_label, export.detail) == ("audit.export", "auditor", {})
    store_line = next(line for line in lines if line[5] == "number.store")
    assert store_line[4] == "個人番号の登録" and store_line[6] == str(history["employee"].pk)
    assert store_line[13] == AuditEntry.objects.get(seq=int(store_line[0])).entry_hash
    # The log never holds a number: not ours, not the other company's.
    for number in history["numbers"]:
        assert not any(form in body for form in grouped(number))


def test_the_actors_full_name_is_beside_their_user_name(signed_in, personas, history):
    personas.handler.first_name = "担当 花子"
    personas.handler.save(update_fields=["first_name"])
    client = signed_in(personas.auditor)
    page = client.get(url("audit", personas.company)).content.decode()
    assert 'handler <span class="muted">担当 花子</span>' in page
    lines = csv_rows(client.get(url("audit_csv", personas.company)))[1:]
    by_actor = {(line[2], line[3]) for line in lines}
    assert ("handler", "担当 花子") in by_actor and ("auditor", "") in by_actor


def test_the_csv_has_the_same_filters_and_records_them(signed_in, personas, history):
    client = signed_in(personas.responsible_manager)
    employee = history["employee"]
    params = {
        "person": str(employee.pk),
        "action": "number.reveal",
        "outcome": "ok",
        "actor": "handler",
        "since": "2020-01-01",
        "until": "2099-12-31",
    }
    lines = csv_rows(client.get(url("audit_csv", personas.company), params))[1:]
    expected = AuditEntry.objects.filter(
        company_id=personas.company.pk, person_id=employee.pk, action="number.reveal", outcome="ok"
    )
    assert [int(line[0]) for line in lines] == list(expected.values_list("seq", flat=True))
    export = AuditEntry.objects.order_by("-seq").filter(action="audit.export").get()
    assert export.company_id == personas.company.pk and export.outcome == "ok"
    assert export.detail == {**params, "person": employee.pk}
    assert export.actor_label == "responsible_manager"


def test_the_export_form_carries_the_filters(signed_in, personas, history):
    client = signed_in(personas.auditor)
    page = client.get(url("audit", personas.company), {"outcome": "refused"}).content.decode()
    form = page.split('action="' + url("audit_csv", personas.company) + '"')[1].split("</form>")[0]
    assert '<input type="hidden" name="outcome" value="refused">' in form


def test_a_csv_with_bad_filters_goes_back_to_the_page(signed_in, personas, history):
    client = signed_in(personas.auditor)
    before = AuditEntry.objects.count()
    response = client.get(url("audit_csv", personas.company), {"since": "not-a-date"})
    assert response.status_code == 302
    assert response["Location"] == url("audit", personas.company) + "?since=not-a-date"
    assert AuditEntry.objects.count() == before


def test_formulas_are_defused_in_the_csv(signed_in, personas, history):
    AuditEntry.objects.filter(company_id=personas.company.pk).update(reason="=HYPERLINK(1)")
    lines = csv_rows(signed_in(personas.auditor).get(url("audit_csv", personas.company)))
    assert {line[9] for line in lines[2:]} == {"'=HYPERLINK(1)"}  # no label: shown as it is
    assert {line[10] for line in lines[2:]} == {"'=HYPERLINK(1)"}


# --- verification ----------------------------------------------------------------------------


def test_verifying_an_intact_chain(signed_in, personas, history):
    log_role_grants(personas)  # the fixture's roles, granted through the log as the app does
    client = signed_in(personas.auditor)
    total = AuditEntry.objects.count()
    response = client.post(url("audit_verify", personas.company))
    assert response.status_code == 200
    page = response.content.decode()
    result = page.split('id="verify-result"')[1].split("</div>")[0]
    assert 'role="status"' in page and f"{total}件の記録を確認" in result
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.outcome, entry.company_id) == (
        "audit.verify",
        "ok",
        personas.company.pk,
    )
    assert entry.detail == {"entries": total, "checkpoints": 0}


def test_verifying_shows_a_torn_checkpoint_line_as_a_warning(signed_in, personas, settings):
    log_role_grants(personas)
    with open(settings.MNVAULT_CHECKPOINT_FILE, "ab") as handle:
        handle.write(b'{"seq": 3, "entry_h')  # a crash in the middle of an append
    page = signed_in(personas.auditor).post(url("audit_verify", personas.company))
    result = page.content.decode().split('id="verify-result"')[1].split("</div>")[0]
    assert "件の記録を確認" in result
    assert "書き込みの中断により途中で切れています" in result


def test_verifying_a_tampered_chain_names_the_entry(signed_in, personas, history):
    victim = AuditEntry.objects.filter(action="number.reveal").earliest("seq")
    AuditEntry.objects.filter(pk=victim.pk).update(purpose="social_insurance")
    client = signed_in(personas.responsible_manager)
    response = client.post(url("audit_verify", personas.company))
    page = response.content.decode()
    result = page.split('id="verify-result"')[1].split("</div>")[0]
    assert 'role="alert"' in page.split('id="verify-result"')[0].rsplit("<div", 1)[1]
    assert f"記録 番号{victim.seq}で検証に失敗しました" in result
    assert f"記録 #{victim.seq} は書き込み後に改変されています" in result
    entry = AuditEntry.objects.latest("seq")
    assert (entry.action, entry.outcome, entry.reason) == ("audit.verify", "failed", "chain_broken")
    assert entry.detail["first_bad_seq"] == victim.seq


def test_verification_needs_post(signed_in, personas):
    client = signed_in(personas.auditor)
    assert client.get(url("audit_verify", personas.company)).status_code == 405


def test_verification_needs_the_csrf_token(personas):
    from mnvault.web.tests.fixtures import verified_client

    client = verified_client(personas.auditor)
    client.handler.enforce_csrf_checks = True
    assert client.post(url("audit_verify", personas.company)).status_code == 403


def test_the_dates_of_the_export_detail_are_iso(signed_in, personas, history):
    client = signed_in(personas.auditor)
    client.get(url("audit_csv", personas.company), {"since": "2026-01-02"})
    export = AuditEntry.objects.filter(action="audit.export").get()
    assert export.detail == {"since": date(2026, 1, 2).isoformat()}


def test_the_csv_streams_in_chunks_without_losing_rows(signed_in, personas, history, monkeypatch):
    from mnvault.web.views import audit as audit_views

    monkeypatch.setattr(audit_views, "CSV_CHUNK", 2)
    lines = csv_rows(signed_in(personas.auditor).get(url("audit_csv", personas.company)))
    assert [int(line[0]) for line in lines[1:]] == our_seqs(personas.company)

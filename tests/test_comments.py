"""The conversation on a result (issue 14, part 6): comments through the API and the result page,
in order, grouped in rounds opened by return and reopen notes, who may comment, bad input, markup
shown escaped, and the audit trail."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mne.audit.models import AuditEvent
from mne.comments import service as comments
from mne.comments.models import ResultComment
from mne.comments.schemas import CommentRead
from mne.users import service as users
from mne.web import templates
from tests import factories
from tests.pages import doc, error_beside, fresh

KGZ = "conv.kgz@test.example"
TJK = "conv.tjk@test.example"
REVIEWER = "conv.reviewer@test.example"
DONOR = "conv.donor@test.example"
MARKUP = "<script>alert(1)</script>"


def bearer(session, user) -> dict[str, str]:
    _, secret = users.create_token(session, user)
    session.flush()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def people(session):
    """Tokens of the officer of the line (named), another country's officer, a reviewer (named),
    a donor viewer of the project and one of another donor."""
    factories.donor(session, "CVDONOR")
    factories.donor(session, "CVOTHER")
    kgz = factories.user(session, "country_officer", countries=["KGZ"], email=KGZ)
    rev = factories.user(session, "regional_reviewer", email=REVIEWER)
    kgz.name, rev.name = "Aida Officer", "Rustam Reviewer"
    donor = factories.user(session, "donor_viewer", donors=["CVDONOR"], email=DONOR)
    session.flush()
    return {"kgz": bearer(session, kgz), "reviewer": bearer(session, rev), "donor": bearer(session, donor),
            "tjk": factories.token(session, "country_officer", countries=["TJK"]),
            "other_donor": factories.token(session, "donor_viewer", donors=["CVOTHER"]),
            "kgz_id": kgz.id, "reviewer_id": rev.id}


@pytest.fixture
def result(session, people):
    """A submitted Kyrgyz result of a Kyrgyz–Tajik project funded by CVDONOR."""
    proj = factories.project(session, "CV-1", countries=("KGZ", "TJK"), donors=("CVDONOR",),
                             start="2024-01-01", end="2024-12-31")
    ind = factories.indicator(session, proj, "OC1")
    r = factories.result(session, ind, "KGZ", "2024Q1", status="submitted")
    session.commit()
    return r


def post(client, headers, rid, text):
    return client.post(f"/api/v1/results/{rid}/comments", json={"text": text}, headers=headers)


def listed(client, headers, rid):
    response = client.get(f"/api/v1/results/{rid}/comments", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def error_fields(response):
    assert response.status_code == 422, response.text
    return {d["field"] for d in response.json()["error"]["details"]}


# --- the API ----------------------------------------------------------------------------------

def test_comments_are_posted_and_listed_in_order(client, people, result):
    assert listed(client, people["kgz"], result.id) == []
    first = post(client, people["kgz"], result.id, "  The partner report arrives next week.\n")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["text"] == "The partner report arrives next week."  # trimmed
    assert body["kind"] == "comment" and body["result_id"] == result.id
    assert body["author"] == "Aida Officer" and body["author_id"] == people["kgz_id"]
    assert post(client, people["reviewer"], result.id, "Thanks, I will wait for it.").status_code == 201
    assert post(client, people["kgz"], result.id, "Line one\nline two").status_code == 201

    items = listed(client, people["reviewer"], result.id)
    assert [c["text"] for c in items] == ["The partner report arrives next week.", "Thanks, I will wait for it.",
                                          "Line one\nline two"]
    assert [c["author"] for c in items] == ["Aida Officer", "Rustam Reviewer", "Aida Officer"]
    assert items[0]["id"] == body["id"]
    stamps = [datetime.fromisoformat(c["created_at"]) for c in items]
    assert stamps == sorted(stamps) and all(s.tzinfo is not None for s in stamps)


def test_the_order_is_by_time_then_id_not_by_insertion(session, client, people, result):
    """Rows stored out of time order (as the migration's carried-over notes may be) list by time."""
    at = lambda day: datetime(2022, 5, day, 9, tzinfo=UTC)
    for day, text in ((3, "third"), (1, "first"), (2, "second-a"), (2, "second-b")):
        session.add(ResultComment(result_id=result.id, text=text, author_id=people["kgz_id"], created_at=at(day)))
    session.commit()
    assert [c["text"] for c in listed(client, people["kgz"], result.id)] == ["first", "second-a", "second-b", "third"]


def test_an_unnamed_author_is_shown_by_email(session, client, people, result):
    unnamed = factories.user(session, "regional_reviewer", email="unnamed.rev@test.example")
    headers = bearer(session, unnamed)
    session.commit()
    response = post(client, headers, result.id, "Looks fine.")
    assert response.status_code == 201 and response.json()["author"] == "unnamed.rev@test.example"


def test_returning_twice_keeps_both_notes_as_two_rounds(client, people, result):
    rid = result.id
    returned = client.post(f"/api/v1/results/{rid}/return", json={"note": "Attach the attendance lists."},
                           headers=people["reviewer"])
    assert returned.status_code == 200, returned.text
    assert post(client, people["kgz"], rid, "Attached them to the means of verification.").status_code == 201
    assert client.post(f"/api/v1/results/{rid}/submit", headers=people["kgz"]).status_code == 200
    again = client.post(f"/api/v1/results/{rid}/return", json={"note": "  The female count is still off.  "},
                        headers=people["reviewer"])
    assert again.status_code == 200, again.text
    assert again.json()["review_note"] == "The female count is still off."  # the latest, as before

    items = listed(client, people["kgz"], rid)
    assert [(c["kind"], c["text"], c["author"]) for c in items] == [
        ("returned", "Attach the attendance lists.", "Rustam Reviewer"),
        ("comment", "Attached them to the means of verification.", "Aida Officer"),
        ("returned", "The female count is still off.", "Rustam Reviewer"),
    ]
    assert [[c.text for c in r] for r in comments.rounds([CommentRead(**c) for c in items])] == [
        ["Attach the attendance lists.", "Attached them to the means of verification."],
        ["The female count is still off."]]


def test_a_reopen_opens_a_round_and_an_approved_result_can_still_be_discussed(client, people, result):
    rid = result.id
    approved = client.post(f"/api/v1/results/{rid}/approve", headers=people["reviewer"]).json()
    response = post(client, people["kgz"], rid, "Thank you for the quick review.")
    assert response.status_code == 201, response.text
    # a comment changes nothing of the result: an approved one stays locked as it was
    after = client.get("/api/v1/results?project=CV-1", headers=people["reviewer"]).json()
    assert [(r["status"], r["version"]) for r in after] == [("approved", approved["version"])]
    reopened = client.post(f"/api/v1/results/{rid}/reopen", json={"reason": "The donor found a double count."},
                           headers=people["reviewer"])
    assert reopened.status_code == 200, reopened.text
    assert [(c["kind"], c["text"]) for c in listed(client, people["kgz"], rid)] == [
        ("comment", "Thank you for the quick review."), ("reopened", "The donor found a double count.")]


def test_a_refused_return_adds_no_comment(client, people, result):
    """The return note and the result's change are one transaction: a refused return writes neither."""
    stale = client.post(f"/api/v1/results/{result.id}/return", json={"note": "Stale."},
                        headers=people["reviewer"])
    assert stale.status_code == 200, stale.text
    again = client.post(f"/api/v1/results/{result.id}/return", json={"note": "Returned twice?"},
                        headers=people["reviewer"])
    assert again.status_code == 409, again.text  # a returned result cannot be returned again
    officer = client.post(f"/api/v1/results/{result.id}/return", json={"note": "By an officer?"},
                          headers=people["kgz"])
    assert officer.status_code == 403
    assert [c["text"] for c in listed(client, people["kgz"], result.id)] == ["Stale."]


def test_who_may_read_and_who_may_comment(client, people, result):
    rid = result.id
    assert post(client, people["reviewer"], rid, "From the reviewer.").status_code == 201
    # another country's officer: neither reads nor writes this line
    assert client.get(f"/api/v1/results/{rid}/comments", headers=people["tjk"]).status_code == 403
    refused = post(client, people["tjk"], rid, "From Tajikistan.")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    # a donor viewer of the project reads the conversation but does not take part in it
    assert [c["text"] for c in listed(client, people["donor"], rid)] == ["From the reviewer."]
    refused = post(client, people["donor"], rid, "From the donor.")
    assert refused.status_code == 403 and "donor_viewer" in refused.json()["error"]["message"]
    # a donor viewer of another donor's projects sees nothing of it
    assert client.get(f"/api/v1/results/{rid}/comments", headers=people["other_donor"]).status_code == 403
    assert post(client, people["other_donor"], rid, "x").status_code == 403
    # unknown result, and nobody signed in
    assert client.get("/api/v1/results/2147483000/comments", headers=people["kgz"]).status_code == 404
    assert post(client, people["kgz"], 2147483000, "x").status_code == 404
    assert client.get(f"/api/v1/results/{rid}/comments").status_code == 401
    assert client.post(f"/api/v1/results/{rid}/comments", json={"text": "x"}).status_code == 401
    assert [c["text"] for c in listed(client, people["kgz"], rid)] == ["From the reviewer."]


@pytest.mark.parametrize("body", [
    {"text": ""}, {"text": "   \n\t "}, {}, {"text": None}, {"text": 12}, {"text": "x" * 5_001},
    {"text": "bad \x00 byte"}, {"text": "ok", "extra": 1},
])
def test_bad_text_is_refused_naming_it(client, people, result, body):
    response = client.post(f"/api/v1/results/{result.id}/comments", json=body, headers=people["kgz"])
    expected = {"extra"} if "extra" in body else {"text"}
    assert error_fields(response) == expected
    assert listed(client, people["kgz"], result.id) == []


def test_the_longest_comment_is_accepted(client, people, result):
    assert post(client, people["kgz"], result.id, "y" * 5_000).status_code == 201


def test_a_comment_is_audited(session, client, people, result):
    created = post(client, people["kgz"], result.id, "Audited words.").json()
    events = fresh(session).exec(select(AuditEvent).where(
        AuditEvent.action == "result.comment", AuditEvent.entity == "result",
        AuditEvent.entity_id == str(result.id))).all()
    assert len(events) == 1
    assert events[0].actor_id == people["kgz_id"]
    assert events[0].after == {"comment_id": created["id"], "text": "Audited words."}
    history = client.get(f"/api/v1/results/{result.id}/history", headers=people["kgz"]).json()
    assert [e["action"] for e in history][-1] == "result.comment"


def test_comments_for_many_results_in_one_call(session, client, people, result):
    other = factories.result(session, factories.indicator(session, factories.project(session, "CV-2"), "X"),
                             "KGZ", "2022Q2", status="submitted")
    session.commit()
    post(client, people["kgz"], result.id, "on the first")
    post(client, people["reviewer"], other.id, "on the second")
    got = comments.comments_for(fresh(session), [result.id, other.id, 2147483000])
    assert [c.text for c in got[result.id]] == ["on the first"]
    assert [(c.text, c.author) for c in got[other.id]] == [("on the second", "Rustam Reviewer")]
    assert got[2147483000] == []
    assert comments.comments_for(session, []) == {}


# --- the pages --------------------------------------------------------------------------------

def comment_form(page_response):
    forms = doc(page_response).xpath("//form[contains(@class, 'comment-form')]")
    return forms[0] if forms else None


def test_the_result_page_shows_the_conversation_in_rounds_and_takes_a_comment(client, session, people, result):
    rid = result.id
    client.post(f"/api/v1/results/{rid}/return", json={"note": f"First note {MARKUP}"}, headers=people["reviewer"])
    post(client, people["kgz"], rid, "Fixed the breakdown.")
    client.post(f"/api/v1/results/{rid}/submit", headers=people["kgz"])
    client.post(f"/api/v1/results/{rid}/return", json={"note": "Second note"}, headers=people["reviewer"])

    csrf = factories.sign_in(client, KGZ)
    page = client.get(f"/results/{rid}")
    assert page.status_code == 200
    form = comment_form(page)
    assert form is not None and form.get("method") == "post"
    label = form.xpath(".//label[@for='comment-text']")[0].text_content()
    assert "comment" in label.lower()
    assert form.xpath(".//textarea[@id='comment-text']/@name") == ["text"]

    rounds = doc(page).xpath("//section[@id='conversation']//li[contains(@class, 'conv-round')]")
    assert len(rounds) == 2
    first, second = (r.text_content() for r in rounds)
    assert "Returned by Rustam Reviewer" in first and f"First note {MARKUP}" in first
    assert "Fixed the breakdown." in first and "Aida Officer" in first
    assert "Returned by Rustam Reviewer" in second and "Second note" in second
    assert MARKUP not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text

    done = client.post(f"/results/{rid}/comments", data={"csrf_token": csrf, "text": f"Reply {MARKUP}"},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(f"/results/{rid}?notice=commented")
    page = client.get(done.headers["location"])
    assert "Your comment has been added" in page.text
    last = doc(page).xpath("//section[@id='conversation']//li[contains(@class, 'conv-round')][last()]")[0]
    assert f"Reply {MARKUP}" in last.text_content()
    assert MARKUP not in page.text


def test_an_empty_comment_on_the_page_is_refused_beside_the_field(client, session, people, result):
    csrf = factories.sign_in(client, KGZ)
    response = client.post(f"/results/{result.id}/comments", data={"csrf_token": csrf, "text": "   "},
                           follow_redirects=False)
    assert response.status_code == 422
    assert error_beside(response, "comment-text")
    too_long = "z" * 5_001
    response = client.post(f"/results/{result.id}/comments", data={"csrf_token": csrf, "text": too_long},
                           follow_redirects=False)
    assert response.status_code == 422 and "5,000" in error_beside(response, "comment-text")
    assert doc(response).get_element_by_id("comment-text").text_content() == too_long  # nothing typed is lost
    assert comments.comments_for(fresh(session), [result.id])[result.id] == []


def test_the_page_form_needs_its_csrf_token(client, session, people, result):
    factories.sign_in(client, KGZ)
    response = client.post(f"/results/{result.id}/comments", data={"text": "no token"}, follow_redirects=False)
    assert response.status_code == 403
    assert comments.comments_for(fresh(session), [result.id])[result.id] == []


def test_a_donor_reads_the_conversation_on_the_page_but_has_no_form(client, session, people, result):
    post(client, people["reviewer"], result.id, "Visible to the donor.")
    csrf = factories.sign_in(client, DONOR)
    page = client.get(f"/results/{result.id}")
    assert page.status_code == 200 and "Visible to the donor." in page.text
    assert comment_form(page) is None and "do not take part" in page.text
    refused = client.post(f"/results/{result.id}/comments", data={"csrf_token": csrf, "text": "hello"},
                          follow_redirects=False)
    assert refused.status_code == 403
    assert len(comments.comments_for(fresh(session), [result.id])[result.id]) == 1


def test_another_countrys_officer_cannot_comment_on_the_page(client, session, people, result):
    factories.user(session, "country_officer", countries=["TJK"], email="conv.tjk.page@test.example")
    session.commit()
    csrf = factories.sign_in(client, "conv.tjk.page@test.example")
    refused = client.post(f"/results/{result.id}/comments", data={"csrf_token": csrf, "text": "hello"},
                          follow_redirects=False)
    assert refused.status_code == 403
    assert comments.comments_for(fresh(session), [result.id])[result.id] == []


def test_the_short_form_shows_the_latest_round_escaped_and_clipped(client, session, people, result):
    rid = result.id
    client.post(f"/api/v1/results/{rid}/return", json={"note": "An old note"}, headers=people["reviewer"])
    client.post(f"/api/v1/results/{rid}/submit", headers=people["kgz"])
    client.post(f"/api/v1/results/{rid}/return", json={"note": f"{MARKUP} " + "word " * 100},
                headers=people["reviewer"])
    for text in ("reply one", "reply two", "reply three"):
        post(client, people["kgz"], rid, text)
    conversation = comments.comments_for(fresh(session), [rid])[rid]
    html = templates.env.from_string(
        '{% import "results/_conversation.html" as conv %}{{ conv.short(c, href="/results/1#conversation") }}'
    ).render(c=conversation)
    assert MARKUP not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "An old note" not in html  # only the latest round
    assert "Returned by Rustam Reviewer" in html and "…" in html and "word " * 100 not in html
    assert "reply one" not in html and "reply two" in html and "reply three" in html  # the last two replies
    assert "1 more comment" in html
    assert re.search(r"The whole conversation \(5 comments\)", html)
    empty = templates.env.from_string('{% import "results/_conversation.html" as conv %}[{{ conv.short([]) }}]')
    assert empty.render() == "[]"

"""The conversation on a result (SPEC §4, issue 14): comments by the officer and the reviewer,
kept in order. A return or reopen note opens a new round (`mne.results.service` adds it).

The API and the pages call these functions, so who may comment is decided here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from mne.audit import service as audit
from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import utcnow
from mne.comments.models import CommentKind, ResultComment
from mne.comments.schemas import TEXT_MAX, CommentRead
from mne.errors import Forbidden, Invalid
from mne.results.models import Result
from mne.results.service import get_result
from mne.text import check
from mne.users.models import User

ROUND_OPENERS = frozenset({CommentKind.returned, CommentKind.reopened})


def _order():
    return (ResultComment.result_id, ResultComment.created_at, ResultComment.id)


def comments_for(session: Session, result_ids: Iterable[int]) -> dict[int, list[CommentRead]]:
    """Every comment of each result, oldest first, in one query (a list page calls it for its
    rows). The caller has checked the results are in scope. Results without comments get []."""
    ids = sorted(set(result_ids))
    out: dict[int, list[CommentRead]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.exec(
        select(ResultComment, User.name, User.email)
        .join(User, User.id == ResultComment.author_id, isouter=True)
        .where(ResultComment.result_id.in_(ids))
        .order_by(*_order()))
    for c, name, email in rows:
        out[c.result_id].append(_read(c, name, email))
    return out


def _read(c: ResultComment, name: str | None, email: str | None) -> CommentRead:
    return CommentRead(id=c.id, result_id=c.result_id, kind=c.kind, text=c.text, author=name or email or "",
                       author_id=c.author_id, created_at=c.created_at)


def rounds(comments: list[CommentRead]) -> list[list[CommentRead]]:
    """The conversation cut into rounds: a return or reopen note starts a new one; what was said
    before the first return is a round of its own."""
    out: list[list[CommentRead]] = []
    for c in comments:
        if c.kind in ROUND_OPENERS or not out:
            out.append([])
        out[-1].append(c)
    return out


def can_comment(principal: Principal, country: str) -> bool:
    """The officers who may write the line, and reviewers (region-wide, so every line is theirs).
    Donor viewers read the conversation but do not take part in it."""
    return principal.can_review or scope.can_write_line(principal, country)


def ensure_can_comment(principal: Principal, country: str) -> None:
    if principal.can_review:
        return
    if principal.role == "country_officer":
        scope.ensure_can_write_line(principal, country)
        return
    raise Forbidden(f"a {principal.role} can read the conversation but not take part in it")


def list_comments(session: Session, principal: Principal, result_id: int) -> list[CommentRead]:
    get_result(session, principal, result_id)  # 404 / 403
    return comments_for(session, [result_id])[result_id]


def add(session: Session, result: Result, author_id: int | None, kind: str, text: str) -> ResultComment:
    """Store a comment (no checks: callers have made them). Returns it with its id."""
    comment = ResultComment(result_id=result.id, kind=kind, text=text, author_id=author_id, created_at=utcnow())
    session.add(comment)
    session.flush()
    return comment


def post_comment(session: Session, principal: Principal, result_id: int, text: str) -> CommentRead:
    """Add the caller's comment to a result, in any status: the conversation may go on after an
    approval. 403 for donor viewers and officers of other countries; 422 naming `text` when empty
    or too long."""
    result, _ = get_result(session, principal, result_id)
    ensure_can_comment(principal, result.country_iso3)
    body = (text or "").strip()
    if not body:
        raise Invalid.field("text", "write something first")
    if len(body) > TEXT_MAX:
        raise Invalid.field("text", f"at most {TEXT_MAX:,} characters (this is {len(body):,})")
    try:
        check(body, multiline=True)
    except ValueError as e:
        raise Invalid.field("text", str(e)) from None
    comment = add(session, result, principal.id, CommentKind.comment, body)
    audit.record(session, actor_id=principal.id, action="result.comment", entity="result", entity_id=result.id,
                 after={"comment_id": comment.id, "text": body})
    return _read(comment, principal.name, principal.email)


@dataclass
class ConversationView:
    """What the result page's conversation section shows (templates/results/_conversation.html)."""
    result_id: int
    rounds: list[list[CommentRead]]
    can_comment: bool
    why_not: str = ""  # why there is no form, in words
    typed: str = ""  # a refused comment, shown again
    error: str = ""
    max_length: int = TEXT_MAX
    comments: list[CommentRead] = field(default_factory=list)


def conversation_view(session: Session, principal: Principal, result_id: int, country: str, *, typed: str = "",
                      error: str = "") -> ConversationView:
    """The conversation of a result the caller has read (scope already checked)."""
    comments = comments_for(session, [result_id])[result_id]
    allowed = can_comment(principal, country)
    why_not = "" if allowed else (
        "Donor viewers read the conversation but do not take part in it." if principal.role == "donor_viewer"
        else "Only the officers of this country and the reviewers take part in the conversation.")
    return ConversationView(result_id=result_id, rounds=rounds(comments), can_comment=allowed, why_not=why_not,
                            typed=typed, error=error, comments=comments)

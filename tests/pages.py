"""Helpers for the tests that drive the HTML pages through a TestClient, as a browser would:
a second browser, the page as a tree, the error shown beside a field, a session that sees
what the app committed. Signing in is `factories.sign_in`."""

from __future__ import annotations

from fastapi.testclient import TestClient
from lxml import html as lxml_html


def browser(client) -> TestClient:
    """A second browser (its own cookies) on the same app and test transaction."""
    return TestClient(client.app, raise_server_exceptions=False, base_url="http://testserver")


def doc(response):
    """The page as an lxml tree."""
    return lxml_html.fromstring(response.text)


def error_beside(response, input_id: str) -> str:
    """The error shown next to the input: the input points at it with aria-describedby."""
    page = doc(response)
    field = page.get_element_by_id(input_id)
    if field.tag != "fieldset":  # a group of checkboxes is described, not marked invalid
        assert field.get("aria-invalid") == "true", f"{input_id} is not marked invalid"
    assert f"{input_id}-error" in field.get("aria-describedby", "").split()
    return page.get_element_by_id(f"{input_id}-error").text_content().strip()


def fresh(session):
    """The test's session sees what the app committed, not what it cached earlier."""
    session.expire_all()
    return session

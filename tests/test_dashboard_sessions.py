"""Dashboard sessions live on the server: signing out, a new password or a disabled account
end them, even for a copy of the cookie taken before."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from balise.db.tables import dashboard_sessions
from balise.db.tables import links as links_table
from tests.conftest import DASHBOARD_PASSWORD, DashboardClient

COOKIE = "balise_session"


def copy_of(app, signed_in: DashboardClient) -> DashboardClient:
    """Another browser holding a copy of `signed_in`'s session cookie."""
    cookie = signed_in.client.get_cookie(COOKIE, path="/dashboard")
    assert cookie is not None
    other = app.test_client()
    other.set_cookie(COOKIE, cookie.value, path="/dashboard")
    return DashboardClient(other)


def csrf_of(client: DashboardClient) -> str:
    html = client.get("/dashboard/links/new").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def count(db, table, *where) -> int:
    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def signed_out(client: DashboardClient) -> bool:
    r = client.get("/dashboard/links")
    return r.status_code == 302 and r.headers["Location"].startswith("/dashboard/login")


def test_a_copied_cookie_stops_working_after_sign_out(app, editor, db):
    thief = copy_of(app, editor)
    token = csrf_of(thief)  # the copy works until then, CSRF token included
    editor.post("/dashboard/logout")
    r = thief.client.post(
        "/dashboard/links/new", data={"url": "https://example.org/a", "csrf_token": token}
    )
    assert r.status_code == 302 and r.headers["Location"].startswith("/dashboard/login")
    assert count(db, links_table) == 0
    assert signed_out(thief)
    assert count(db, dashboard_sessions) == 0


def test_signing_out_ends_this_session_only(app, editor, db):
    laptop = editor
    phone = DashboardClient(app.test_client())
    assert phone.login("editor@example.org").status_code == 302
    assert count(db, dashboard_sessions) == 2
    phone.post("/dashboard/logout")
    assert signed_out(phone)
    assert laptop.get("/dashboard/links").status_code == 200


def test_a_new_password_ends_every_other_session_and_keeps_this_one(app, editor, db):
    copy = copy_of(app, editor)
    other = DashboardClient(app.test_client())
    assert other.login("editor@example.org").status_code == 302
    r = editor.post(
        "/dashboard/account/password",
        {
            "current_password": DASHBOARD_PASSWORD,
            "new_password": "a brand new password",
            "confirm_password": "a brand new password",
        },
    )
    assert r.status_code == 302
    assert editor.get("/dashboard/links").status_code == 200
    assert signed_out(copy)  # a copy of the cookie from before the change
    assert signed_out(other)
    assert count(db, dashboard_sessions) == 1


def test_disabling_an_account_deletes_its_sessions(app, editor, runner, db):
    copy = copy_of(app, editor)
    assert runner("users", "disable", "editor@example.org").exit_code == 0
    assert count(db, dashboard_sessions) == 0
    assert runner("users", "enable", "editor@example.org").exit_code == 0
    assert signed_out(copy)  # enabling again does not bring old sessions back
    assert signed_out(editor)


def test_a_session_unused_for_session_days_is_refused(editor, db):
    long_ago = datetime.now(timezone.utc) - timedelta(days=14, minutes=1)
    with db.begin() as conn:
        conn.execute(update(dashboard_sessions).values(last_seen_at=long_ago))
    assert signed_out(editor)


def test_using_a_session_renews_it(editor, db):
    a_while_ago = datetime.now(timezone.utc) - timedelta(days=13)
    with db.begin() as conn:
        conn.execute(update(dashboard_sessions).values(last_seen_at=a_while_ago))
    assert editor.get("/dashboard/links").status_code == 200
    with db.connect() as conn:
        seen = conn.execute(select(dashboard_sessions.c.last_seen_at)).scalar_one()
    assert seen > a_while_ago + timedelta(days=12)

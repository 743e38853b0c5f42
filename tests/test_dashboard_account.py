"""Account page (language, time zone, password) and API keys that belong to accounts."""

from __future__ import annotations

import re

from sqlalchemy import select

from balise.accounts import keys
from balise.db.tables import api_keys
from tests.conftest import DASHBOARD_PASSWORD


def created_key(response) -> str:
    found = re.search(
        r'id="new-key" type="text" value="(blz_[^"]+)"', response.get_data(as_text=True)
    )
    assert found, "no new key on the page"
    return found.group(1)


def test_a_key_made_in_the_dashboard_belongs_to_the_account_and_works(editor, client, db):
    r = editor.post("/dashboard/keys", {"name": "newsletter", "role": "editor"})
    assert r.status_code == 201
    plaintext = created_key(r)
    with db.connect() as conn:
        row = conn.execute(select(api_keys.c.name, api_keys.c.user_id, api_keys.c.key_hash)).one()
    assert row.name == "newsletter" and row.user_id is not None
    assert plaintext not in row.key_hash
    auth = {"Authorization": f"Bearer {plaintext}"}
    assert (
        client.post("/api/v1/links", json={"url": "https://e.org"}, headers=auth).status_code == 201
    )
    page = editor.get("/dashboard/keys").get_data(as_text=True)
    assert "newsletter" in page and plaintext not in page  # shown once only


def test_a_key_cannot_outrank_its_account(viewer, db):
    r = viewer.post("/dashboard/keys", {"name": "sneaky", "role": "admin"})
    assert r.status_code == 422
    assert "ne permet pas" in r.get_data(as_text=True)
    with db.connect() as conn:
        assert conn.execute(select(api_keys.c.id)).first() is None


def test_a_disabled_or_demoted_account_takes_its_keys_down_with_it(editor, client, runner):
    plaintext = created_key(editor.post("/dashboard/keys", {"name": "k", "role": "editor"}))
    auth = {"Authorization": f"Bearer {plaintext}"}
    runner("users", "set-role", "editor@example.org", "viewer")
    assert client.get("/api/v1/links", headers=auth).status_code == 200
    assert (
        client.post("/api/v1/links", json={"url": "https://e.org"}, headers=auth).status_code == 403
    )
    runner("users", "disable", "editor@example.org")
    assert client.get("/api/v1/links", headers=auth).status_code == 401


def test_revoking_an_own_key(editor, client):
    plaintext = created_key(editor.post("/dashboard/keys", {"name": "old", "role": "viewer"}))
    key_id = re.search(
        r"/dashboard/keys/(\d+)/revoke", editor.get("/dashboard/keys").get_data(as_text=True)
    ).group(1)
    r = editor.post(f"/dashboard/keys/{key_id}/revoke")
    assert r.status_code == 302
    assert (
        client.get("/api/v1/links", headers={"Authorization": f"Bearer {plaintext}"}).status_code
        == 401
    )


def test_someone_elses_key_can_only_be_revoked_by_an_admin(dashboard, make_user, db):
    owner = make_user("owner@example.org", "editor")
    with db.begin() as conn:
        key, _ = keys.create_key(conn, "theirs", "viewer", user_id=owner.id)
    make_user("ed@example.org", "editor")
    dashboard.login("ed@example.org")
    assert "theirs" not in dashboard.get("/dashboard/keys").get_data(as_text=True)
    assert dashboard.post(f"/dashboard/keys/{key.id}/revoke").status_code == 403
    make_user("boss@example.org", "admin")
    dashboard.post("/dashboard/logout")
    dashboard.login("boss@example.org")
    page = dashboard.get("/dashboard/keys").get_data(as_text=True)
    assert "theirs" in page and "owner@example.org" in page
    assert dashboard.post(f"/dashboard/keys/{key.id}/revoke").status_code == 302
    with db.connect() as conn:
        assert keys.get_key(conn, key.id).revoked_at is not None


def test_a_duplicate_key_name_is_reported_beside_the_name(editor):
    editor.post("/dashboard/keys", {"name": "dup", "role": "viewer"})
    r = editor.post("/dashboard/keys", {"name": "dup", "role": "viewer"})
    assert r.status_code == 422
    assert "Une clé nommée « dup » existe déjà." in r.get_data(as_text=True)


def test_account_language_and_time_zone(editor):
    r = editor.post("/dashboard/account", {"lang": "en", "tz": "America/New_York"})
    assert r.status_code == 302
    assert "balise_tz=America/New_York" in r.headers["Set-Cookie"]
    page = editor.get("/dashboard/account", headers={"Accept-Language": "fr"}).get_data(
        as_text=True
    )
    assert '<html lang="en"' in page
    assert "<option selected>America/New_York</option>" in page
    editor.post("/dashboard/account", {"lang": "", "tz": "Not/AZone"})
    page = editor.get("/dashboard/links", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="fr"' in page


def test_password_change_checks_the_current_one_and_keeps_this_session(editor, dashboard):
    r = editor.post(
        "/dashboard/account/password",
        {"current_password": "wrong", "new_password": "x" * 12, "confirm_password": "x" * 12},
    )
    assert r.status_code == 422 and "incorrect" in r.get_data(as_text=True)
    r = editor.post(
        "/dashboard/account/password",
        {
            "current_password": DASHBOARD_PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert r.status_code == 422 and "au moins 10 caractères" in r.get_data(as_text=True)
    r = editor.post(
        "/dashboard/account/password",
        {
            "current_password": DASHBOARD_PASSWORD,
            "new_password": "a brand new password",
            "confirm_password": "a different one",
        },
    )
    assert r.status_code == 422 and "ne correspondent pas" in r.get_data(as_text=True)
    r = editor.post(
        "/dashboard/account/password",
        {
            "current_password": DASHBOARD_PASSWORD,
            "new_password": "a brand new password",
            "confirm_password": "a brand new password",
        },
    )
    assert r.status_code == 302
    assert editor.get("/dashboard/links").status_code == 200  # this session goes on
    editor.post("/dashboard/logout")
    assert editor.login("editor@example.org").status_code == 200  # old password refused
    assert editor.login("editor@example.org", "a brand new password").status_code == 302

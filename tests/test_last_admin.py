"""Balise never loses its last admin credential: a live admin key, or an enabled admin account
(which can make admin keys in the dashboard). Revoking, disabling or demoting the last one is
refused with 409 (API) or a one-line error (CLI), and nothing changes."""

from __future__ import annotations

import threading

from sqlalchemy import select

from balise.accounts import keys, users
from balise.db.tables import api_keys

PROBLEM = "application/problem+json"


def make_key(db, name, role="admin", user_id=None) -> dict[str, str]:
    with db.begin() as conn:
        _key, plaintext = keys.create_key(conn, name, role, user_id=user_id)
    return {"Authorization": f"Bearer {plaintext}"}


def live(db, name) -> bool:
    with db.connect() as conn:
        row = conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.name == name)).one()
    return row.revoked_at is None


def test_the_last_admin_key_cannot_revoke_itself(client, db):
    root = make_key(db, "root")
    r = client.delete("/api/v1/keys/root", headers=root)
    assert r.status_code == 409 and r.headers["Content-Type"] == PROBLEM
    body = r.get_json()
    assert body["type"].endswith("/last-admin")
    assert "last admin credential" in body["detail"]
    assert live(db, "root")
    assert client.get("/api/v1/keys", headers=root).status_code == 200


def test_an_admin_key_may_revoke_itself_or_another_while_one_is_left(client, db):
    first = make_key(db, "first")
    make_key(db, "second")
    make_key(db, "third")
    assert client.delete("/api/v1/keys/second", headers=first).status_code == 200
    assert client.delete("/api/v1/keys/first", headers=first).status_code == 200
    assert not live(db, "first") and live(db, "third")


def test_editor_and_viewer_keys_never_count_and_are_always_revocable(client, db):
    root = make_key(db, "root")
    make_key(db, "writer", role="editor")
    assert client.delete("/api/v1/keys/writer", headers=root).status_code == 200
    assert client.delete("/api/v1/keys/root", headers=root).status_code == 409


def test_an_admin_key_of_a_demoted_account_does_not_count(client, db, make_user):
    demoted = make_user("was-admin@example.org", role="admin")
    make_key(db, "old-admin", user_id=demoted.id)
    root = make_key(db, "root")
    with db.begin() as conn:  # two credentials left: root and the account's key acting as it
        users.set_role(conn, demoted, "editor")
    r = client.delete("/api/v1/keys/root", headers=root)
    assert r.status_code == 409


def test_an_enabled_admin_account_counts_as_a_credential(client, db, make_user, runner):
    make_user("boss@example.org", role="admin")
    root = make_key(db, "root")
    assert client.delete("/api/v1/keys/root", headers=root).status_code == 200
    for args in (("disable", "boss@example.org"), ("set-role", "boss@example.org", "editor")):
        result = runner("users", *args)
        assert result.exit_code == 1, args
        assert result.output.strip() == (
            "Error: The account boss@example.org is the last admin credential: create another "
            "admin key (balise keys create --role admin) or admin account first."
        )
    with db.connect() as conn:
        boss = users.get_user_by_email(conn, "boss@example.org")
    assert boss.role == "admin" and not boss.disabled


def test_disabling_an_admin_with_another_admin_left_works(db, make_user, runner):
    make_user("boss@example.org", role="admin")
    make_user("deputy@example.org", role="admin")
    assert runner("users", "disable", "boss@example.org").exit_code == 0
    assert runner("users", "disable", "deputy@example.org").exit_code == 1
    assert runner("users", "enable", "boss@example.org").exit_code == 0


def test_the_cli_refuses_to_revoke_the_last_admin_key_in_one_line(db, runner):
    make_key(db, "root")
    make_key(db, "bot", role="viewer")
    assert runner("keys", "revoke", "bot").exit_code == 0
    result = runner("keys", "revoke", "root")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: The API key 'root' is the last admin credential: create another admin key "
        "(balise keys create --role admin) or admin account first."
    )
    assert live(db, "root")


def test_concurrent_revocations_leave_one_admin_key(db):
    names = [f"admin-{i}" for i in range(4)]
    for name in names:
        make_key(db, name)
    start = threading.Barrier(len(names))
    outcomes: list[str] = []

    def revoke(name: str) -> None:
        start.wait(10)
        try:
            with db.begin() as conn:
                keys.revoke_key(conn, name)
            outcomes.append("revoked")
        except keys.LastAdmin:
            outcomes.append("refused")

    threads = [threading.Thread(target=revoke, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["refused", "revoked", "revoked", "revoked"]
    assert [live(db, n) for n in names].count(True) == 1

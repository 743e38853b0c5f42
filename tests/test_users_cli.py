"""`balise users ...`: accounts from the command line, passwords hashed with argon2id."""

from __future__ import annotations

from sqlalchemy import select

from balise.db.tables import users as users_table


def password_hash(db, email):
    with db.connect() as conn:
        return conn.execute(
            select(users_table.c.password_hash).where(users_table.c.email == email)
        ).scalar_one()


def test_create_with_password_on_stdin_stores_an_argon2id_hash(runner, db):
    result = runner(
        "users", "create", "Ana@Example.org", "--role", "admin", "--password-stdin",
        input="a long password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created admin account ana@example.org"
    digest = password_hash(db, "ana@example.org")
    assert digest.startswith("$argon2id$") and "a long password" not in digest


def test_create_prompts_twice_for_the_password(runner, db):
    result = runner(
        "users",
        "create",
        "bo@example.org",
        "--role",
        "viewer",
        input="pass phrase 1\npass phrase 1\n",
    )
    assert result.exit_code == 0, result.output
    assert password_hash(db, "bo@example.org").startswith("$argon2id$")


def test_create_refuses_a_short_password_a_bad_email_and_a_duplicate(runner):
    short = runner(
        "users", "create", "a@example.org", "--role", "editor", "--password-stdin", input="short\n"
    )
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    bad = runner(
        "users", "create", "not-an-email", "--role", "editor", "--password-stdin", input="x" * 12
    )
    assert bad.exit_code == 1 and "e-mail address" in bad.output
    runner(
        "users", "create", "a@example.org", "--role", "editor", "--password-stdin", input="x" * 12
    )
    dup = runner(
        "users", "create", "A@example.org", "--role", "editor", "--password-stdin", input="y" * 12
    )
    assert dup.exit_code == 1 and "already exists" in dup.output
    role = runner(
        "users", "create", "c@example.org", "--role", "owner", "--password-stdin", input="x" * 12
    )
    assert role.exit_code == 2


def test_list_disable_enable_and_set_role(runner):
    runner(
        "users",
        "create",
        "a@example.org",
        "--role",
        "editor",
        "--lang",
        "fr",
        "--password-stdin",
        input="x" * 12,
    )
    assert runner("users", "list").output.split("\t")[:4] == [
        "a@example.org",
        "editor",
        "fr",
        "active",
    ]
    assert runner("users", "disable", "a@example.org").output.strip() == "disabled a@example.org"
    assert "\tdisabled\t" in runner("users", "list").output
    assert runner("users", "enable", "a@example.org").exit_code == 0
    assert (
        runner("users", "set-role", "a@example.org", "viewer").output.strip()
        == "a@example.org is now viewer"
    )
    assert runner("users", "disable", "nobody@example.org").exit_code == 1
    assert runner("users", "list").output.count("\n") == 1


def test_set_password_replaces_the_hash(runner, db):
    runner(
        "users", "create", "a@example.org", "--role", "editor", "--password-stdin", input="x" * 12
    )
    before = password_hash(db, "a@example.org")
    result = runner(
        "users", "set-password", "a@example.org", "--password-stdin", input="another password\n"
    )
    assert result.exit_code == 0
    assert password_hash(db, "a@example.org") != before
    missing = runner(
        "users", "set-password", "nobody@example.org", "--password-stdin", input="z" * 12
    )
    assert missing.exit_code == 1 and "No account" in missing.output


def test_list_says_when_there_is_no_account(runner):
    assert runner("users", "list").output.strip() == "no accounts"

"""Accounts: argon2 hashes, the first-run rule, sign-in and its tokens, and `holdspace users add`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from holdspace.cli import app
from holdspace.services import accounts
from holdspace.services.accounts import AccountError
from holdspace.storage import User, session_scope, utcnow

GOOD = "a quiet room at dusk"


def test_passwords_are_stored_as_argon2_hashes(any_db: str) -> None:
    user = accounts.create_first_trainer("Terry", GOOD, "Terry T")
    assert user.username == "terry" and user.role == "trainer"
    with session_scope() as s:
        stored = s.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$") and GOOD not in stored


def test_first_trainer_only_while_no_account_exists(any_db: str) -> None:
    assert accounts.needs_first_run()
    accounts.create_first_trainer("first", GOOD)
    assert not accounts.needs_first_run()
    with pytest.raises(AccountError, match="already set up"):
        accounts.create_first_trainer("second", GOOD)
    assert [u.username for u in accounts.list_users()] == ["first"]


def test_a_cli_account_also_ends_first_run(db: str) -> None:
    accounts.add_user("tina", GOOD, role="trainee")
    with pytest.raises(AccountError):
        accounts.create_first_trainer("late", GOOD)


def test_sign_in_checks_the_password(any_db: str) -> None:
    accounts.create_first_trainer("terry", GOOD)
    trainee = accounts.add_user("tina", "another quiet room", role="trainee", display_name="Tina")
    assert accounts.authenticate("TINA ", "another quiet room") == trainee
    assert accounts.authenticate("tina", "another quiet roo") is None
    assert accounts.authenticate("nobody", "another quiet room") is None
    assert accounts.authenticate("", "") is None


def test_repeated_wrong_passwords_are_refused_for_a_while(db: str) -> None:
    accounts.add_user("tina", GOOD)
    for _ in range(accounts.MAX_FAILURES):
        assert accounts.authenticate("tina", "not the password") is None
    with pytest.raises(AccountError, match="Too many sign-in attempts"):
        accounts.authenticate("tina", GOOD)
    assert accounts.authenticate("terry", "whatever it is") is None  # other usernames are unaffected
    accounts.reset_throttle()
    assert accounts.authenticate("tina", GOOD) is not None


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Enter a username"),
        ("ab", "3 to 32"),
        ("bad name", "letters, digits"),
        ("-dash", "letters, digits"),
        ("x" * 40, "3 to 32"),
    ],
)
def test_usernames_are_validated(db: str, username: str, message: str) -> None:
    with pytest.raises(AccountError, match=message):
        accounts.add_user(username, GOOD)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 10"),
        ("aaaaaaaaaaaa", "more than three"),
        ("password123", "most common"),
        ("tina-is-my-password", "contain the username"),
        ("          ", "only spaces"),
    ],
)
def test_password_rules_explain_themselves(db: str, password: str, message: str) -> None:
    with pytest.raises(AccountError, match=message):
        accounts.add_user("tina", password)


def test_usernames_are_unique(db: str) -> None:
    accounts.add_user("tina", GOOD)
    with pytest.raises(AccountError, match="taken"):
        accounts.add_user("Tina", GOOD)


def test_tokens_sign_in_until_revoked_or_expired(any_db: str) -> None:
    user = accounts.create_first_trainer("terry", GOOD)
    token = accounts.issue_token(user.id)
    assert accounts.user_for_token(token) == user
    assert accounts.user_for_token(token + "x") is None
    assert accounts.user_for_token(token, now=utcnow() + accounts.TOKEN_TTL + timedelta(seconds=1)) is None
    accounts.revoke_token(token)
    assert accounts.user_for_token(token) is None
    with session_scope() as s:  # only a digest is stored
        from holdspace.storage import AuthToken

        assert token not in {t.token_hash for t in s.scalars(select(AuthToken))}


def test_cli_upgrades_and_adds_users(fresh_data_dir) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "revision 0001" in result.output
    result = runner.invoke(app, ["users", "add", "Terry", "--role", "trainer", "--password-stdin"], input=GOOD + "\n")
    assert result.exit_code == 0, result.output
    assert accounts.authenticate("terry", GOOD) is not None
    result = runner.invoke(app, ["users", "add", "tina", "--password-stdin"], input="short\n")
    assert result.exit_code == 1 and "at least 10" in result.output
    result = runner.invoke(app, ["users", "add", "tina", "--role", "boss", "--password-stdin"], input=GOOD + "\n")
    assert result.exit_code == 1
    result = runner.invoke(app, ["users", "add", "tina"], input=f"{GOOD}\n{GOOD}\n")  # prompted twice
    assert result.exit_code == 0, result.output
    assert "tina\ttrainee" in runner.invoke(app, ["users", "list"]).output

"""Accounts: the first trainer on first run, trainee accounts, sign-in with argon2 hashes, and sign-in
tokens that let a page reload keep the user signed in.

There is no default password anywhere: the first visit asks for the first trainer's own password, and
that form is offered only while no account exists (checked again inside the transaction that creates it).

A sign-in token is 256 random bits handed to the browser (in the URL's query string, where a reload keeps
it); the database keeps only its SHA-256 with an expiry, and sign-out revokes it. So a token never
carries the password, a leaked database signs nobody in, and several app instances behind a load balancer
share sign-ins through the database without a shared secret file.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from holdspace.storage import ROLES, AppMeta, AuthToken, User, session_scope, utcnow

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,31}$")
PASSWORD_MIN = 10
PASSWORD_MAX = 128
DISPLAY_NAME_MAX = 80
TOKEN_TTL = timedelta(hours=12)
#: the most common choices; length alone lets several of them through
COMMON_PASSWORDS = frozenset(
    {
        "password12",
        "password123",
        "password1234",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "1q2w3e4r5t",
        "iloveyou12",
        "letmein123",
        "welcome123",
        "administrator",
        "trustno1234",
        "passw0rd123",
        "0987654321",
        "abc1234567",
        "changeme123",
        "holdspace123",
        "peersupport",
    }
)

_hasher = PasswordHasher()
#: verified against when the username is unknown, so a wrong name takes as long as a wrong password
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    """A request the accounts service refuses; the message is written for the person at the form."""


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: str

    @property
    def label(self) -> str:
        return self.display_name or self.username

    @property
    def is_trainer(self) -> bool:
        return self.role == "trainer"


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.display_name, user.role)


# ------------------------------------------------------------------------------------------ validation
def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username, or AccountError saying what to change."""
    name = normalise_username(username)
    if not name:
        raise AccountError("Enter a username.")
    if len(name) < 3 or len(name) > 32:
        raise AccountError("A username has 3 to 32 characters.")
    if not USERNAME_RE.match(name):
        raise AccountError(
            "A username may use letters, digits, dots, hyphens and underscores, and starts with a letter or digit."
        )
    return name


def password_problems(password: str, username: str = "") -> list[str]:
    """Every rule the password breaks, each as a sentence (empty when it is acceptable)."""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"Use at least {PASSWORD_MIN} characters (a short phrase is easiest to remember).")
    if len(password) > PASSWORD_MAX:
        problems.append(f"Use at most {PASSWORD_MAX} characters.")
    if password and not password.strip():
        problems.append("A password cannot be only spaces.")
    if password and len(set(password)) < 4:
        problems.append("Use more than three different characters.")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        problems.append("This password is among the most common ones; choose another.")
    name = normalise_username(username)
    if name and len(name) >= 3 and name in lowered:
        problems.append("The password must not contain the username.")
    return problems


def check_password(password: str, username: str = "") -> None:
    problems = password_problems(password, username)
    if problems:
        raise AccountError(" ".join(problems))


def check_display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if len(name) > DISPLAY_NAME_MAX:
        raise AccountError(f"A display name has at most {DISPLAY_NAME_MAX} characters.")
    return name


# ------------------------------------------------------------------------------------------ accounts
def user_count(db: Session | None = None) -> int:
    if db is not None:
        return db.scalar(select(func.count()).select_from(User)) or 0
    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(User)) or 0


def needs_first_run() -> bool:
    """True while no account exists: the web app then offers only the set-up form."""
    return user_count() == 0


def _insert_user(db: Session, username: str, password: str, role: str, display_name: str) -> User:
    if role not in ROLES:
        raise AccountError(f"A role is one of: {', '.join(ROLES)}.")
    name = check_username(username)
    check_password(password, name)
    display = check_display_name(display_name)
    if db.scalar(select(User.id).where(User.username == name)) is not None:
        raise AccountError(f"The username {name!r} is taken.")
    user = User(username=name, display_name=display, password_hash=_hasher.hash(password), role=role)
    db.add(user)
    return user


def _mark_initialised(db: Session) -> None:
    if db.get(AppMeta, "initialised") is None:
        db.add(AppMeta(key="initialised", value=utcnow().isoformat()))


def create_first_trainer(username: str, password: str, display_name: str = "") -> UserInfo:
    """The first account, a trainer; refused as soon as any account exists."""
    try:
        with session_scope() as db:
            if user_count(db) > 0:
                raise AccountError("This installation is already set up; sign in instead.")
            # Inserted in the same transaction: a second simultaneous set-up hits the primary key and fails.
            db.add(AppMeta(key="initialised", value=utcnow().isoformat()))
            user = _insert_user(db, username, password, "trainer", display_name)
            db.flush()
            return _info(user)
    except IntegrityError:
        raise AccountError("This installation is already set up; sign in instead.") from None


def add_user(username: str, password: str, role: str = "trainee", display_name: str = "") -> UserInfo:
    """A new account (trainers add trainees from the web app; `holdspace users add` adds either role)."""
    try:
        with session_scope() as db:
            user = _insert_user(db, username, password, role, display_name)
            _mark_initialised(db)
            db.flush()
            return _info(user)
    except IntegrityError:
        raise AccountError(f"The username {normalise_username(username)!r} is taken.") from None


#: sign-in attempts allowed per username within the window before it is refused for a while
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=10)
_failures: dict[str, list[datetime]] = {}
_failures_lock = threading.Lock()


def reset_throttle() -> None:
    """Forget failed attempts (tests; an operator after a lockout)."""
    with _failures_lock:
        _failures.clear()


def _throttled(name: str, now: datetime) -> bool:
    with _failures_lock:
        recent = [t for t in _failures.get(name, []) if now - t < FAILURE_WINDOW]
        _failures[name] = recent
        return len(recent) >= MAX_FAILURES


def _record_failure(name: str, now: datetime) -> None:
    with _failures_lock:
        _failures.setdefault(name, []).append(now)


def authenticate(username: str, password: str) -> UserInfo | None:
    """The user when the password matches an active account, else None (never says which part was wrong).

    After MAX_FAILURES wrong attempts for one username within FAILURE_WINDOW, further attempts are refused
    (AccountError) until the window has passed; the count is per app process."""
    name = normalise_username(username)
    now = utcnow()
    if _throttled(name, now):
        raise AccountError("Too many sign-in attempts for this username; wait a few minutes and try again.")
    user = _check_password(name, password)
    if user is None:
        _record_failure(name, now)
    else:
        with _failures_lock:
            _failures.pop(name, None)
    return user


def _check_password(name: str, password: str) -> UserInfo | None:
    with session_scope() as db:
        user = db.scalar(select(User).where(User.username == name)) if name else None
        if user is None or not user.active:
            try:
                _hasher.verify(_DUMMY_HASH, password or "-")
            except VerificationError:
                pass
            return None
        try:
            _hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = utcnow()
        return _info(user)


def set_password(user_id: int, new_password: str) -> None:
    with session_scope() as db:
        user = db.get(User, user_id)
        if user is None:
            raise AccountError("No such account.")
        check_password(new_password, user.username)
        user.password_hash = _hasher.hash(new_password)


def get_user(user_id: int) -> UserInfo | None:
    with session_scope() as db:
        user = db.get(User, user_id)
        return _info(user) if user is not None and user.active else None


def list_users(role: str | None = None) -> list[UserInfo]:
    with session_scope() as db:
        query = select(User).order_by(User.username)
        if role is not None:
            query = query.where(User.role == role)
        return [_info(u) for u in db.scalars(query)]


# ------------------------------------------------------------------------------------------ sign-in tokens
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user_id: int, ttl: timedelta = TOKEN_TTL) -> str:
    """A new sign-in token for the browser; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    with session_scope() as db:
        db.add(AuthToken(user_id=user_id, token_hash=_digest(token), expires_at=utcnow() + ttl))
    return token


def user_for_token(token: str | None, now: datetime | None = None) -> UserInfo | None:
    """The signed-in user for a token that is known, unexpired and not revoked."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    with session_scope() as db:
        row = db.scalar(select(AuthToken).where(AuthToken.token_hash == _digest(token)))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        user = db.get(User, row.user_id)
        return _info(user) if user is not None and user.active else None


def revoke_token(token: str | None) -> None:
    """Sign-out: the token stops working at once, on every device that holds it."""
    if not token:
        return
    with session_scope() as db:
        row = db.scalar(select(AuthToken).where(AuthToken.token_hash == _digest(token)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()

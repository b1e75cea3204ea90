"""Passwords of people: the pure rules a new password must meet, and Argon2id hashing (argon2-cffi)."""
import re
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256  # hashing cost grows with the input; nobody types more
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{2,63}$")


def normalise_username(username: str) -> str:
    """User names are case-insensitive: stored and compared in lower case. Raises ValueError when the
    name is not 3-64 letters, digits, '.', '_', '@' or '-' starting with a letter or digit."""
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise ValueError("use 3-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
    return name


def password_problems(password: str, *, username: str | None) -> list[str]:
    """What is wrong with a new password (empty when it is acceptable): at least 10 characters, at most
    256, and not the user name in any letter case."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"use at most {MAX_PASSWORD_LENGTH} characters")
    if username and password.strip().lower() == username.strip().lower():
        problems.append("must not be the user name")
    return problems


@dataclass
class Passwords:
    """Argon2id with the configured cost. `verify_or_dummy` spends the same time whether or not there
    is a stored hash, so a caller cannot tell unknown users from wrong passwords by the clock."""

    hasher: PasswordHasher
    _dummy: str | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config) -> "Passwords":
        # Defaults are argon2-cffi's: RFC 9106's low-memory profile (t=3, m=64 MiB, p=4).
        return cls(PasswordHasher(time_cost=int(config["ARGON2_TIME_COST"]),
                                  memory_cost=int(config["ARGON2_MEMORY_KIB"]),
                                  parallelism=int(config["ARGON2_PARALLELISM"])))

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify_or_dummy(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; with no stored hash, hash against a dummy and say False."""
        if stored is None:
            if self._dummy is None:
                self._dummy = self.hasher.hash("dummy password for unknown users")
            stored, password = self._dummy, password + "\x00never"
        try:
            return self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether a hash was made with other parameters than today's (rehash it at the next sign-in)."""
        return self.hasher.check_needs_rehash(stored)

"""Ed25519 signing keys: created on first use, stored encrypted, rotated and revoked; the trust list."""
import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import LargeBinary, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit, counters
from core.accounts import Actor
from core.db import Base, str_enum, transaction
from core.errors import InvalidState, NotFound
from core.signing import Signer, b64url, decrypt_private_key, encrypt_private_key, key_id
from core.trustlist import TrustEntry, encode_trust_list

log = logging.getLogger("greenlane.keys")


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"      # signs new documents
    RETIRED = "retired"    # signs nothing new; what it signed stays valid
    REVOKED = "revoked"    # everything it signed is rejected


class SigningKey(Base):
    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(16), unique=True)  # hex of the 8-byte key id
    public_key: Mapped[bytes] = mapped_column(LargeBinary)      # raw 32 bytes
    private_key_pem: Mapped[bytes] = mapped_column(LargeBinary)  # PKCS#8, encrypted with the passphrase
    status: Mapped[KeyStatus] = mapped_column(str_enum(KeyStatus), index=True)
    not_before: Mapped[datetime]
    not_after: Mapped[datetime | None]  # when it stopped signing (rotation or revocation)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid}, status={self.status.value})"


@dataclass(frozen=True)
class TrustedKey:
    kid: bytes
    public_key: Ed25519PublicKey
    status: KeyStatus


class KeyRing:
    """Per-process cache of decrypted signers (decrypting a PEM is deliberately slow)."""

    def __init__(self, passphrase: bytes):
        self._passphrase = passphrase
        self._signers: dict[str, Signer] = {}

    def __repr__(self) -> str:
        return f"KeyRing({len(self._signers)} cached signers)"

    def signer_for(self, key: SigningKey) -> Signer:
        """`key`: a SigningKey or a row with its kid and private_key_pem."""
        signer = self._signers.get(key.kid)
        if signer is None:
            signer = Signer(decrypt_private_key(key.private_key_pem, self._passphrase))
            self._signers[key.kid] = signer
        return signer

    def encrypt(self, private_key: Ed25519PrivateKey) -> bytes:
        return encrypt_private_key(private_key, self._passphrase)


def active_signer(session: Session, ring: KeyRing, *, actor: Actor, now: datetime) -> Signer:
    """The signer of the active key, creating the first key if there is none. Joins the caller's
    transaction (or opens one)."""
    # Plain columns on the connection: every approval asks, and the ring caches the decrypted signer by kid.
    key = session.connection().execute(_ACTIVE_KEY).first()
    if key is None:
        with transaction(session):
            counters.lock(session, counters.SIGNING_KEYS)
            key = _active_key(session) or _create_key(session, ring, actor=actor, now=now)
    return ring.signer_for(key)


def rotate_key(session: Session, ring: KeyRing, *, actor: Actor, now: datetime) -> SigningKey:
    """Retire the active key and create a new one; documents signed before stay valid."""
    with transaction(session):
        counters.lock(session, counters.SIGNING_KEYS)
        old = _active_key(session)
        if old is not None:
            old.status, old.not_after = KeyStatus.RETIRED, now
            audit.record(session, actor.audit, "key.retired", object_type="signing_key", object_id=old.kid,
                         at=now)
        return _create_key(session, ring, actor=actor, now=now)


def revoke_key(session: Session, kid_hex: str, *, actor: Actor, now: datetime, reason: str) -> SigningKey:
    """Revoke a key: everything it signed is rejected from now on. Revoking the active key leaves no
    active key; the next signature creates a new one."""
    with transaction(session):
        counters.lock(session, counters.SIGNING_KEYS)
        key = session.scalars(select(SigningKey).where(SigningKey.kid == kid_hex.lower())).one_or_none()
        if key is None:
            raise NotFound(f"no key with kid {kid_hex}")
        if key.status is KeyStatus.REVOKED:
            raise InvalidState(f"key {kid_hex} is already revoked")
        previous = key.status
        key.status, key.not_after = KeyStatus.REVOKED, key.not_after or now
        audit.record(session, actor.audit, "key.revoked", object_type="signing_key", object_id=key.kid,
                     changes={"status": [previous.value, "revoked"], "reason": reason}, at=now)
    return key


def list_keys(session: Session) -> list[SigningKey]:
    return list(session.scalars(select(SigningKey).order_by(SigningKey.id)))


def trusted_keys(session: Session) -> dict[bytes, TrustedKey]:
    """Every known public key by kid, with its status (revoked keys included, so verifiers can say so)."""
    return {bytes.fromhex(k.kid): TrustedKey(bytes.fromhex(k.kid), Ed25519PublicKey.from_public_bytes(k.public_key),
                                             k.status) for k in list_keys(session)}


def trust_list_entry(key: SigningKey) -> dict:
    """The public JWK-style description of a key (RFC 8037 OKP)."""
    return {"kid": b64url(bytes.fromhex(key.kid)), "kty": "OKP", "crv": "Ed25519", "x": b64url(key.public_key),
            "status": key.status.value, "not_before": key.not_before, "not_after": key.not_after}


def signed_trust_list(session: Session, ring: KeyRing, *, actor: Actor, now: datetime, lifetime_seconds: int) -> bytes:
    """The trust list as a COSE_Sign1 (core/trustlist.py), good for `lifetime_seconds`, signed by the
    longest-standing key that is not revoked: a device that knows the keys of an earlier list recognises it
    across rotations."""
    active_signer(session, ring, actor=actor, now=now)  # the first key, if there is none yet
    listed = list_keys(session)
    signer = ring.signer_for(next(k for k in listed if k.status is not KeyStatus.REVOKED))
    issued_at = int(now.timestamp())
    entries = [TrustEntry(bytes.fromhex(k.kid), k.public_key, k.status.value, int(k.not_before.timestamp()),
                          int(k.not_after.timestamp()) if k.not_after else None) for k in listed]
    return signer.sign(encode_trust_list(entries, issued_at=issued_at, expires_at=issued_at + lifetime_seconds))


def _active_key(session: Session) -> SigningKey | None:
    return session.scalars(select(SigningKey).where(SigningKey.status == KeyStatus.ACTIVE)
                           .order_by(SigningKey.id.desc())).first()


_KEYS = SigningKey.__table__
_ACTIVE_KEY = (select(_KEYS.c.kid, _KEYS.c.private_key_pem).where(_KEYS.c.status == KeyStatus.ACTIVE.value)
               .order_by(_KEYS.c.id.desc()).limit(1))


def _create_key(session: Session, ring: KeyRing, *, actor: Actor, now: datetime) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    key = SigningKey(kid=key_id(public).hex(), public_key=public.public_bytes(Encoding.Raw, PublicFormat.Raw),
                     private_key_pem=ring.encrypt(private), status=KeyStatus.ACTIVE, not_before=now)
    session.add(key)
    session.flush()
    audit.record(session, actor.audit, "key.created", object_type="signing_key", object_id=key.kid,
                 changes={"x": b64url(key.public_key)}, at=now)
    log.info("created signing key kid=%s", key.kid)
    return key

"""Personal data at rest: authenticated encryption for values and keyed hashes for exact-match search."""
import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"


class PersonalDataCipher:
    """AES-256-GCM with a random nonce; the purpose ("id_number", "phone") is bound as associated data
    so a ciphertext cannot be moved from one column to another. Blind indexes use a separate key."""

    def __init__(self, data_key: bytes, index_key: bytes):
        if len(data_key) != 32 or len(index_key) != 32:
            raise ValueError("personal-data keys must be 32 bytes")
        if data_key == index_key:
            raise ValueError("the data key and the index key must differ")
        self._aead = AESGCM(data_key)
        self._index_key = index_key

    def __repr__(self) -> str:
        return "PersonalDataCipher(<keys hidden>)"

    def encrypt(self, plaintext: str, *, purpose: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), purpose.encode())

    def decrypt(self, blob: bytes, *, purpose: str) -> str:
        if blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], purpose.encode()).decode("utf-8")
        except InvalidTag as e:
            raise ValueError("ciphertext does not authenticate") from e

    def blind_index(self, value: str) -> str:
        """A keyed hash of a normalised value: equal inputs match, the value cannot be recovered."""
        return hmac.new(self._index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def decode_key(value: str | bytes, name: str) -> bytes:
    """Keys are configured as base64 of 32 random bytes (`python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'`)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name} is not valid base64") from e
    if len(raw) != 32:
        raise ValueError(f"{name} must decode to 32 bytes")
    return raw


def demo_key(name: str) -> bytes:
    """Deterministic development-only key; create_app refuses it outside demo mode."""
    return hashlib.sha256(f"greenlane-demo-{name}-not-secret".encode()).digest()

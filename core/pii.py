"""Personal data at rest: authenticated encryption for values and keyed hashes for exact-match search.

Keys rotate (`flask --app wsgi pii rotate-key`, checkpoints/pii_rotation.py): every ciphertext starts with
the version of the data key that wrote it, and during a rotation the previous pair of keys (data and index,
version - 1) is configured beside the current pair, so old ciphertexts still decrypt and searches look for
both keyed hashes until every row is re-keyed."""
import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class PersonalDataCipher:
    """AES-256-GCM with a random nonce; the purpose ("id_number", "phone") is bound as associated data
    so a ciphertext cannot be moved from one column to another. Blind indexes use a separate key."""

    def __init__(self, data_key: bytes, index_key: bytes, *, version: int = 1,
                 previous: tuple[bytes, bytes] | None = None):
        pairs = [(data_key, index_key)] + ([previous] if previous else [])
        if any(len(k) != 32 for pair in pairs for k in pair):
            raise ValueError("personal-data keys must be 32 bytes")
        if any(d == i for d, i in pairs):
            raise ValueError("the data key and the index key must differ")
        if not 1 <= version <= 255:
            raise ValueError("the personal-data key version must be between 1 and 255")
        if previous and version == 1:
            raise ValueError("previous personal-data keys need a key version of 2 or more")
        if previous and (previous[0] in (data_key, index_key) or previous[1] in (data_key, index_key)):
            raise ValueError("the previous personal-data keys must differ from the current ones")
        self.version = version
        self.previous_version = version - 1 if previous else None
        self._aeads = {version: AESGCM(data_key)}
        self._index_keys = {version: index_key}
        if previous:
            self._aeads[version - 1] = AESGCM(previous[0])
            self._index_keys[version - 1] = previous[1]

    def __repr__(self) -> str:
        return f"PersonalDataCipher(version={self.version}, <keys hidden>)"

    @property
    def rotating(self) -> bool:
        return self.previous_version is not None

    def encrypt(self, plaintext: str, *, purpose: str, version: int | None = None) -> bytes:
        """Under the current key, or under `version` (the previous one) to stay beside rows not yet re-keyed."""
        version = self.version if version is None else version
        nonce = os.urandom(12)
        return bytes([version]) + nonce + self._aeads[version].encrypt(nonce, plaintext.encode("utf-8"),
                                                                       purpose.encode())

    def decrypt(self, blob: bytes, *, purpose: str) -> str:
        aead = self._aeads.get(blob[0]) if blob else None
        if aead is None:
            raise ValueError(f"ciphertext of key version {blob[0] if blob else '?'}, which is not configured")
        try:
            return aead.decrypt(blob[1:13], blob[13:], purpose.encode()).decode("utf-8")
        except InvalidTag as e:
            raise ValueError("ciphertext does not authenticate") from e

    def is_current(self, blob: bytes | None) -> bool:
        """True when `blob` was written under the current key (or there is nothing to re-key)."""
        return blob is None or blob[:1] == bytes([self.version])

    def reencrypt(self, blob: bytes, *, purpose: str) -> bytes:
        return blob if self.is_current(blob) else self.encrypt(self.decrypt(blob, purpose=purpose), purpose=purpose)

    def blind_index(self, value: str, *, version: int | None = None) -> str:
        """A keyed hash of a normalised value: equal inputs match, the value cannot be recovered."""
        key = self._index_keys[self.version if version is None else version]
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()

    def search_hashes(self, value: str) -> tuple[str, ...]:
        """Every keyed hash a stored row of `value` may carry: the current one first, then (while keys
        rotate) the previous one. Lookups match any of them."""
        return tuple(self.blind_index(value, version=v) for v in self._index_keys)


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

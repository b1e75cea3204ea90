import pytest

from core.pii import PersonalDataCipher, decode_key

CIPHER = PersonalDataCipher(bytes(range(32)), bytes(range(32, 64)))


def test_encryption_round_trips_and_hides_the_value():
    blob = CIPHER.encrypt("440304200001010009", purpose="id_number")
    assert b"440304200001010009" not in blob
    assert CIPHER.decrypt(blob, purpose="id_number") == "440304200001010009"


def test_the_same_value_encrypts_differently_each_time():
    assert CIPHER.encrypt("x", purpose="phone") != CIPHER.encrypt("x", purpose="phone")


def test_a_ciphertext_cannot_be_moved_to_another_column():
    blob = CIPHER.encrypt("13800138000", purpose="phone")
    with pytest.raises(ValueError):
        CIPHER.decrypt(blob, purpose="id_number")


def test_a_tampered_ciphertext_is_rejected():
    blob = bytearray(CIPHER.encrypt("13800138000", purpose="phone"))
    blob[-1] ^= 1
    with pytest.raises(ValueError):
        CIPHER.decrypt(bytes(blob), purpose="phone")


def test_blind_index_matches_equal_values_only_and_depends_on_the_key():
    other = PersonalDataCipher(bytes(range(1, 33)), bytes(range(33, 65)))
    assert CIPHER.blind_index("a") == CIPHER.blind_index("a") != CIPHER.blind_index("b")
    assert CIPHER.blind_index("a") != other.blind_index("a")


def test_keys_must_be_32_bytes_and_distinct():
    with pytest.raises(ValueError):
        PersonalDataCipher(b"short", bytes(32))
    with pytest.raises(ValueError):
        PersonalDataCipher(bytes(32), bytes(32))
    with pytest.raises(ValueError):
        decode_key("not base64!", "GREENLANE_DATA_KEY")


def test_repr_reveals_no_key():
    assert "00" not in repr(CIPHER) and "hidden" in repr(CIPHER)

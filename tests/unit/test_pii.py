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


def test_a_rotating_cipher_reads_both_versions_writes_the_new_one_and_searches_both_hashes():
    old = PersonalDataCipher(bytes(range(32)), bytes(range(32, 64)))
    new = PersonalDataCipher(bytes(range(64, 96)), bytes(range(96, 128)), version=2)
    rotating = PersonalDataCipher(bytes(range(64, 96)), bytes(range(96, 128)), version=2,
                                  previous=(bytes(range(32)), bytes(range(32, 64))))
    blob = old.encrypt("13800138000", purpose="phone")
    assert blob[0] == 1 and not rotating.is_current(blob)
    assert rotating.decrypt(blob, purpose="phone") == "13800138000"
    fresh = rotating.reencrypt(blob, purpose="phone")
    assert fresh[0] == 2 and new.decrypt(fresh, purpose="phone") == "13800138000"
    with pytest.raises(ValueError, match="version 1"):
        new.decrypt(blob, purpose="phone")
    assert rotating.search_hashes("k") == (new.blind_index("k"), old.blind_index("k"))
    assert new.search_hashes("k") == (new.blind_index("k"),)


def test_previous_keys_need_a_later_version_and_different_keys():
    with pytest.raises(ValueError):
        PersonalDataCipher(bytes(range(32)), bytes(range(32, 64)), previous=(bytes(range(64, 96)), bytes(range(96, 128))))
    with pytest.raises(ValueError):
        PersonalDataCipher(bytes(range(32)), bytes(range(32, 64)), version=2, previous=(bytes(range(32)),
                                                                                        bytes(range(96, 128))))

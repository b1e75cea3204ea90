from tests.conftest import secret_leaks


def test_the_log_scanner_finds_tokens_keys_and_identity_numbers():
    lines = ["token gl_" + "a" * 43, "-----BEGIN PRIVATE KEY-----", "id 440304200001010009", "hkid A123456(3)",
             "firm 91440300MA5G00000R approved", "pass 7K3M9QXA approved"]
    assert secret_leaks(lines) == lines[:4]

"""Instructions per pass of check_pass and of the raw Ed25519 verify it contains, counted by callgrind (the same
figure on a loaded machine as on a quiet one). Only the measured calls are counted: they run inside the one
builtin sum(), and collection is toggled on that function:

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=builtin_sum \\
        .venv/bin/python -m bench.offline_instructions check 100     # or: raw 100

"Collected" divided by the number of passes is the figure. The passes, key, policy and site are the bench's
offline section's; 20 more passes are verified first so that first-use work (tables, the policy's memo) is not
counted."""
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.scenarios import TREE, _claims
from core.signing import Signer, decode_sign1, sig_structure
from passes.format import from_qr_text, issue_qr_text
from passes.policy import Policy
from passes.verifier import KeyInfo, check_pass

WARM_UP = 20


def main(which: str, n: int) -> int:
    signer = Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    texts = [issue_qr_text(signer, _claims(i)) for i in range(n + WARM_UP)]
    keys = {signer.kid: KeyInfo(signer.public_key, "active")}
    policy = Policy(parents=TREE.parents)
    at = 1773475200 + 3600

    def check(text: str) -> int:
        verdict = check_pass(text, keys=keys, pass_status=lambda c: 0, site_area="440304001", policy=policy, at=at)
        return int(verdict.accept)

    messages = [(m.signature, sig_structure(m.protected_bytes, m.payload))
                for m in (decode_sign1(from_qr_text(text)) for text in texts)]

    def raw(message: tuple[bytes, bytes]) -> int:
        signer.public_key.verify(*message)
        return 1

    fn, items = (check, texts) if which == "check" else (raw, messages)
    for item in items[n:]:
        fn(item)
    accepted = sum(map(fn, items[:n]))
    print(f"{which}: {accepted} of {n} passed")
    return 0 if accepted == n else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))

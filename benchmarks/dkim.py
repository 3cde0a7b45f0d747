"""Cost of one DKIM signature of the example message: ours against dkimpy's ``dkim.sign``.

Measured in one run, on this machine, on one recipient's message of the example issue:
  ours     ``DkimSigner.sign``: key parsed once, relaxed/relaxed, RSA-2048 by OpenSSL
  dkimpy   ``dkim.sign`` with the same key, canonicalisation and header list, as the
           project called it before (the PEM key parsed on each call, RSA in Python)
  ed25519  ours with an Ed25519 signature beside the RSA one

Each signature is checked once with dkimpy's verifier first. Prints milliseconds per
signature and the speed-up of ours over dkimpy's.

    python benchmarks/dkim.py [--iterations 2000]
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

from timing import per_call_ms  # before the path below leaves out this folder

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# This file's own name would shadow dkimpy's package, which it measures.
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

import dkim  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from newsletter.campaigns import load_issue  # noqa: E402
from newsletter.config import load_settings  # noqa: E402
from newsletter.delivery.dkim import SIGNED_HEADERS, DkimKey, DkimSigner  # noqa: E402
from newsletter.delivery.message import MessageTemplate  # noqa: E402
from newsletter.render.compile import compile_issue  # noqa: E402
from newsletter.render.merge import Recipient  # noqa: E402

DOMAIN = b"example.org"


def example_message() -> bytes:
    settings = load_settings(REPO / "newsletter.yaml", secret="benchmark-only-secret-0123456789")
    issue = load_issue(REPO / "campaigns" / "winter-2026.yaml", settings)
    template = MessageTemplate(compile_issue(issue, settings), settings)
    person = Recipient(
        email="reader@example.org",
        first_name="Ann",
        unsubscribe_url="https://news.example.org/unsubscribe/" + "x" * 60,
        preferences_url="https://news.example.org/preferences/x",
        archive_url="https://news.example.org/archive/winter-2026",
        about_url="https://news.example.org/about",
    )
    return template.render(
        person, message_id="<run.abc@example.org>", unsubscribe_mailto="mailto:x@example.org"
    )


def public_record(key: rsa.RSAPrivateKey | Ed25519PrivateKey) -> bytes:
    """The TXT record a receiver would find for ``key``."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        der = public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)


def verified(signed: bytes, records: dict[bytes, bytes]) -> bool:
    def dns(name: bytes, timeout: float = 5) -> bytes:
        return records[name]

    count = signed.count(b"\r\nDKIM-Signature:") + signed.startswith(b"DKIM-Signature:")
    return all(dkim.DKIM(signed).verify(idx=n, dnsfunc=dns) for n in range(count))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2_000)
    args = parser.parse_args()
    message = example_message()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = Ed25519PrivateKey.generate()
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    records = {
        b"rsa._domainkey.example.org.": public_record(rsa_key),
        b"ed._domainkey.example.org.": public_record(ed_key),
    }
    ours = DkimSigner(DOMAIN, [DkimKey(b"rsa", rsa_key)])
    both = DkimSigner(DOMAIN, [DkimKey(b"rsa", rsa_key), DkimKey(b"ed", ed_key)])

    def theirs() -> bytes:
        return dkim.sign(
            message,
            b"rsa",
            DOMAIN,
            pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED_HEADERS),
        )

    cases = {
        "ours": lambda: ours.sign(message),
        "dkimpy": lambda: theirs() + message,
        "ours + ed25519": lambda: both.sign(message),
    }
    for label, action in cases.items():
        assert verified(action(), records), f"{label}: the signature does not verify"
    print(f"message {len(message) / 1000:.0f} KB, RSA-2048, relaxed/relaxed, sha256")
    timings = {}
    for label, action in cases.items():
        count = args.iterations // 20 if label == "dkimpy" else args.iterations
        timings[label] = per_call_ms(action, max(count, 10))
        print(f"{label:<16}{timings[label]:8.3f} ms/signature", flush=True)
    print(f"speed-up of ours over dkimpy: {timings['dkimpy'] / timings['ours']:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""DKIM settings are checked before a send: incomplete ones, unreadable or unusable keys
are refused by name, and no error or repr shows a key."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dkim_support import DOMAIN, write_key

from newsletter.config import load_settings
from newsletter.delivery.dkim_keys import signer_from_settings
from newsletter.errors import ConfigError


def signer_for(settings, **dkim):
    return signer_from_settings(load_settings(settings.project_file, **dkim))


def rsa_settings(path):
    return {"dkim_selector": "news", "dkim_domain": DOMAIN, "dkim_key_file": path}


def small_rsa_key() -> rsa.RSAPrivateKey:
    """A 511-bit key from two known primes: too small for ``generate_private_key``."""
    p, q, e = 2**255 - 19, 2**256 - 189, 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    return rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    ).private_key()


def test_no_dkim_settings_means_no_signer(settings):
    assert signer_from_settings(settings) is None


@pytest.mark.parametrize(
    ("dkim", "message"),
    [
        ({"dkim_selector": "news"}, "DKIM needs all of"),
        ({"dkim_domain": DOMAIN, "dkim_key_file": "k.pem"}, "DKIM needs all of"),
        ({"dkim_ed25519_selector": "ed"}, "goes beside an RSA one"),
        (
            {**rsa_settings("rsa.pem"), "dkim_ed25519_selector": "ed"},
            "needs both NEWSLETTER_DKIM_ED25519_SELECTOR",
        ),
    ],
)
def test_incomplete_settings_are_refused(settings, tmp_path, dkim, message):
    write_key(tmp_path / "rsa.pem")
    with pytest.raises(ConfigError, match=message):
        signer_for(settings, **dkim)


def test_unusable_keys_are_refused_without_showing_them(settings, tmp_path):
    key = tmp_path / "key.pem"
    cases = {
        "cannot read the DKIM key": None,
        "not a PEM private key": b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n",
        "encrypted": lambda: write_key(key, password=b"passphrase-123"),
        "must be RSA or Ed25519": lambda: write_key(key, "ec"),
        "not an RSA private key": lambda: write_key(key, "ed25519"),
        "511-bit RSA key": lambda: key.write_bytes(
            small_rsa_key().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
    }
    for message, make in cases.items():
        key.unlink(missing_ok=True)
        if isinstance(make, bytes):
            key.write_bytes(make)
        elif make is not None:
            make()
        with pytest.raises(ConfigError, match=message) as caught:
            signer_for(settings, **rsa_settings(key))
        shown = str(caught.value)
        assert str(key) in shown
        if key.exists():
            body = key.read_bytes().splitlines()[1].decode()
            assert body not in shown, message


def test_an_rsa_key_in_the_ed25519_place_is_refused(settings, tmp_path):
    write_key(tmp_path / "rsa.pem")
    with pytest.raises(ConfigError, match="not an Ed25519 private key"):
        signer_for(
            settings,
            **rsa_settings(tmp_path / "rsa.pem"),
            dkim_ed25519_selector="ed",
            dkim_ed25519_key_file=tmp_path / "rsa.pem",
        )


def test_relative_key_paths_are_taken_from_the_project_folder(settings):
    write_key(settings.root / "dkim.pem")
    signer = signer_for(settings, **rsa_settings("dkim.pem"))
    assert signer is not None
    shown = repr(signer)
    assert "news" in shown and "example.org" in shown
    assert "PRIVATE" not in shown and "RSAPrivateKey" not in shown

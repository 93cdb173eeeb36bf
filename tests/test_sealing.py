"""Sealed secrets (app.sealing): opened only with the same key and purpose, tampering refused."""
from app.sealing import seal, unseal


def test_seal_round_trip_purpose_key_and_tampering(app):
    with app.app_context():
        sealed = seal("a-link-token", "resident-sms-token")
        assert "a-link-token" not in sealed and seal("a-link-token", "resident-sms-token") != sealed  # fresh IV
        assert unseal(sealed, "resident-sms-token") == "a-link-token"
        assert unseal(sealed, "connector-token") is None
        assert unseal(sealed, "resident-sms-token", secret_key="another key") is None
        tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
        assert unseal(tampered, "resident-sms-token") is None
        assert unseal("", "x") is None and unseal(None, "x") is None and unseal("not sealed", "x") is None

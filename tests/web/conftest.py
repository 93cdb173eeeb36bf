import pytest

from .api_contract import TALLY, ContractCheckingClient


@pytest.fixture(autouse=True)
def _api_responses_match_the_document(request, monkeypatch):
    """Clients made in web tests check every /api/v1 response against openapi.json."""
    if "app" in request.fixturenames:
        monkeypatch.setattr(request.getfixturevalue("app"), "test_client_class", ContractCheckingClient)


def pytest_terminal_summary(terminalreporter):
    if TALLY:
        terminalreporter.write_line(f"API responses checked against openapi.json: {TALLY['checked']} "
                                    f"(requests to undocumented paths or methods: {TALLY['not documented']})")

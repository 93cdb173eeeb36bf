"""Configuration, health check, error pages and languages."""
import pytest

from app import create_app
from app.config import ConfigError, normalise_database_url


def test_secret_key_required_in_production(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("KAOPING_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_development_gets_a_persistent_instance_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("KAOPING_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    first = create_app().config["SECRET_KEY"]
    assert len(first) >= 32
    assert create_app().config["SECRET_KEY"] == first


def test_database_url_uses_psycopg():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_has_foreign_keys_and_wal(app):
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_healthz_unavailable_without_database(tmp_path):
    from .. import conftest

    broken = conftest.make_test_app("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path,
                                    SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_404_page_in_chinese_and_json_for_api_clients(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "找不到该页面" in page.get_data(as_text=True)
    api = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert api.status_code == 404
    assert api.json["status"] == 404


def test_language_switch_to_english_and_back(client):
    response = client.post("/lang/en", data={"next": "/login"})
    assert response.headers["Location"] == "/login"
    assert "Sign in to Kaoping" in client.get("/login").get_data(as_text=True)
    client.post("/lang/zh", data={"next": "https://evil.example/"})
    assert "登录考评平台" in client.get("/login").get_data(as_text=True)


def test_csrf_is_enforced_with_a_friendly_message(database_url, tmp_path):
    from .. import conftest

    app = conftest.make_test_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/login", data={"username": "a", "password": "b"})
    assert response.status_code == 400
    assert "表单已过期或无效" in response.get_data(as_text=True)


def test_no_cdn_in_templates():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app"
    for path in list(root.rglob("*.html")) + list(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "cdn." not in text and "jsdelivr" not in text and "unpkg" not in text, path

"""When the database is unreachable, answers are 503 with Retry-After (never 500), so clients retry."""
import pytest
from sqlalchemy.exc import OperationalError


def _fail(*args, **kwargs):
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


@pytest.fixture
def broken_database(monkeypatch):
    monkeypatch.setattr("auditapp.api.auth.find_api_token", _fail)
    monkeypatch.setattr("auditapp.auth.views.authenticate", _fail)


def test_api_answers_503_problem_with_retry_after(client, broken_database):
    response = client.get("/api/v1/journeys", headers={"Authorization": "Bearer aud_x"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert "Nothing was stored" in response.json["detail"]


def test_pages_answer_503_page(client, broken_database):
    response = client.post("/login", data={"email": "a@example.com", "password": "x"})
    assert response.status_code == 503
    assert b"Try again in a moment" in response.data

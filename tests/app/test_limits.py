"""Oversized requests get 413 with a clear message, as HTML on pages and as problem+json on the API."""


def test_oversized_form_post_gets_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/login", data={"email": "a@example.com", "password": "x" * 5000})
    assert response.status_code == 413
    assert b"too large" in response.data


def test_oversized_api_body_gets_413_problem(app, client, make):
    org = make.org()
    token = make.token(make.user(org, "shopper"))
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/api/v1/evaluations", data=b"{" + b" " * 5000 + b"}",
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 413 and "too large" in response.json["detail"]


def test_favicon_answers(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response.location.endswith("favicon.svg")

"""The interface language: the browser's, else the user's pick (kept on the user and restored at login), escaped
like any other text, worked out again for every request."""
from __future__ import annotations

from flask import render_template_string
from flask_babel import lazy_gettext

from auditapp.auth.models import User
from auditapp.extensions import db


def test_a_lazy_label_is_escaped_like_any_other_text(app):
    with app.test_request_context("/"):
        html = render_template_string("{{ label }}", label=lazy_gettext("<b>%(name)s</b>", name="<script>x</script>"))
    assert html == "&lt;b&gt;&lt;script&gt;x&lt;/script&gt;&lt;/b&gt;"


def test_the_language_follows_the_browser_on_every_request(client):
    assert '<html lang="sv">' in client.get("/login", headers={"Accept-Language": "sv-SE,sv;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert '<html lang="en">' in client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_a_users_pick_is_kept_on_the_user_and_comes_back_at_login(client, auth, make):
    org = make.org()
    user = make.user(org, "manager", email="m@example.com")
    auth.login("m@example.com")
    response = client.post("/language", data={"language": "sv", "next": "/account"})
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    assert db.session.get(User, user.id).language == "sv"
    assert '<html lang="sv">' in client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)
    auth.logout()
    client.post("/language", data={"language": "en"})  # someone else at the login page
    auth.login("m@example.com")
    assert '<html lang="sv">' in client.get("/account").get_data(as_text=True)  # hers again
    client.post("/language", data={"language": ""})  # back to following the browser
    assert db.session.get(User, user.id).language is None
    assert '<html lang="en">' in client.get("/account", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_the_picker_refuses_unknown_languages_and_foreign_redirects(client):
    assert client.post("/language", data={"language": "xx"}).status_code == 400
    response = client.post("/language", data={"language": "sv", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_the_tr_filter_translates_and_escapes_a_value(app):
    with app.test_request_context("/", headers={"Accept-Language": "sv"}):
        assert render_template_string("{{ band|tr }}", band="magical") == "magisk"
        assert render_template_string("{{ name|tr }}", name="<b>Harbour</b>") == "&lt;b&gt;Harbour&lt;/b&gt;"
        # What the filter is for: Jinja's own _() trusts what it is given.
        assert render_template_string("{{ _(name) }}", name="<b>x</b>") == "<b>x</b>"


def test_each_recipient_gets_a_mail_in_the_language_they_picked(app, make):
    from auditapp.notify import notices

    org = make.org()
    swedish, english = make.user(org, "manager"), make.user(org, "manager")
    swedish.language = "sv"
    db.session.commit()
    with app.test_request_context("/", headers={"Accept-Language": "en"}):  # the deciding manager reads English
        queued = notices.notify_dispute_decided(
            org_id=org.id, dispute_id=1, location_name="Harbour", journey_name="Café", moment_name="Ordering",
            question_text="Greeted?", decision="accepted", reason="Fair point", decided_by_name="Max",
            recipients=[swedish, english])
    mails = {message.user_id: message for message in queued}
    assert mails[swedish.id].subject == "Invändning godtagen: Greeted? (Harbour, Café)"
    assert "Max godtog din invändning om ett besök på Harbour." in mails[swedish.id].body_text
    assert "Ögonblick: Ordering" in mails[swedish.id].body_text
    assert mails[english.id].subject == "Dispute accepted: Greeted? (Harbour, Café)"
    assert "Max accepted your dispute about a visit to Harbour." in mails[english.id].body_text

"""QA: the admin's invite form (found driving the users page as a new admin)."""
from __future__ import annotations

import re


def test_invite_form_defaults_to_the_least_powerful_role(client, auth, make):
    make.user(make.org(), "admin", email="admin@example.com")
    auth.login("admin@example.com")
    page = client.get("/admin/users").get_data(as_text=True)
    invite_form = page.split('name="email"', 1)[1].split("</form>", 1)[0]
    selected = re.findall(r'<option[^>]*selected[^>]*value="(\w+)"|<option[^>]*value="(\w+)"[^>]*selected', invite_form)
    assert [a or b for a, b in selected][:1] == ["shopper"]


def test_after_an_invite_the_form_is_empty_and_the_link_is_shown(client, auth, make):
    make.user(make.org(), "admin", email="admin@example.com")
    auth.login("admin@example.com")
    response = client.post("/admin/users", data={"email": "new@example.com", "role": "manager", "location_id": ""})
    page = response.get_data(as_text=True)
    assert "/invite/" in page
    email_input = re.search(r'<input[^>]*name="email"[^>]*>', page).group(0)
    assert "new@example.com" not in email_input  # a second click must not invite the same person again


def test_an_empty_invite_email_says_what_to_enter(client, auth, make):
    make.user(make.org(), "admin", email="admin@example.com")
    auth.login("admin@example.com")
    page = client.post("/admin/users", data={"email": "", "role": "shopper"}).get_data(as_text=True)
    assert "Enter the email address of the person to invite." in page


def test_member_buttons_name_the_member_and_the_role_message_uses_the_label(client, auth, make):
    org = make.org()
    make.user(org, "admin", email="admin@example.com")
    nina = make.user(org, "staff", email="nina@example.com", name="Nina New")
    auth.login("admin@example.com")
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'Save<span class="visually-hidden">: role and location of Nina New</span>' in page
    assert 'Deactivate<span class="visually-hidden"> Nina New</span>' in page
    membership = nina.memberships[0]
    response = client.post(f"/admin/users/{membership.id}/role", data={"role": "shopper", "location_id": ""},
                           follow_redirects=True)
    assert "Nina New is now secret shopper." in response.get_data(as_text=True)


def test_token_form_is_emptied_after_a_token_is_made_and_revoke_names_the_token(client, auth, make):
    make.user(make.org(), "manager", email="m@example.com")
    auth.login("m@example.com")
    page = client.post("/tokens", data={"name": "BI export"}).get_data(as_text=True)
    assert 'id="new-token"' in page
    label_input = re.search(r'<input[^>]*name="name"[^>]*>', page).group(0)
    assert "BI export" not in label_input
    assert 'Revoke<span class="visually-hidden"> the token BI export</span>' in page
    page = client.post("/tokens", data={"name": ""}).get_data(as_text=True)
    assert "Give the token a label" in page


def test_wide_tables_can_be_scrolled_from_the_keyboard(client, auth, make):
    """A table wider than a phone scrolls sideways; without tabindex a keyboard user cannot reach the rest."""
    make.user(make.org(), "admin", email="admin@example.com")
    auth.login("admin@example.com")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert '<div class="table-wrap" tabindex="0" role="region" aria-label="Audit log entries">' in page

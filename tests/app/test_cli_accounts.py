from auditapp.auth.models import ApiToken, Membership, Organisation, User, token_digest


def test_create_admin_creates_org_and_admin(runner):
    result = runner.invoke(args=["create-admin", "--org-name", "Acme", "--org-slug", "acme", "--email",
                                 "Boss@Acme.example", "--password", "a long password"])
    assert result.exit_code == 0, result.output
    org = Organisation.query.filter_by(slug="acme").one()
    user = User.query.filter_by(email="boss@acme.example").one()
    assert Membership.query.filter_by(user_id=user.id, org_id=org.id).one().role == "admin"
    again = runner.invoke(args=["create-admin", "--org-name", "Acme", "--org-slug", "acme", "--email",
                                "second@acme.example", "--password", "a long password"])
    assert again.exit_code == 0 and Organisation.query.count() == 1


def test_create_admin_prompts_for_password(runner):
    result = runner.invoke(args=["create-admin", "--org-name", "Acme", "--org-slug", "acme", "--email", "a@acme.example"],
                           input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert User.query.one().check_password("a long password")


def test_create_admin_rejects_bad_slug_and_short_password(runner):
    bad_slug = runner.invoke(args=["create-admin", "--org-name", "A", "--org-slug", "Not A Slug", "--email", "a@x.example",
                                   "--password", "a long password"])
    assert bad_slug.exit_code != 0 and "slug" in bad_slug.output
    short = runner.invoke(args=["create-admin", "--org-name", "A", "--org-slug", "a", "--email", "a@x.example",
                                "--password", "short"])
    assert short.exit_code != 0 and "10 characters" in short.output
    assert User.query.count() == 0


def test_create_token_prints_token_alone_and_stores_hash(runner):
    runner.invoke(args=["create-admin", "--org-name", "Acme", "--org-slug", "acme", "--email", "a@acme.example",
                        "--password", "a long password"])
    result = runner.invoke(args=["create-token", "--email", "a@acme.example", "--name", "ci"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert result.output.strip() == token
    stored = ApiToken.query.one()
    assert stored.token_hash == token_digest(token) and stored.name == "ci"


def test_create_token_for_unknown_user_fails(runner):
    result = runner.invoke(args=["create-token", "--email", "ghost@example.com"])
    assert result.exit_code != 0 and "no user" in result.output

"""Languages: translations of a journey version's texts, the language a form was shown in, each user's interface
language.

Revision ID: 8a4c2e6f1b90
Revises: 5e1f0b7a9c24
"""
import sqlalchemy as sa
from alembic import op

revision = "8a4c2e6f1b90"
down_revision = "5e1f0b7a9c24"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("journey_version") as batch:
        batch.add_column(sa.Column("default_language", sa.String(16), nullable=False, server_default="en"))
        batch.add_column(sa.Column("default_language_name", sa.String(64), nullable=False, server_default="English"))
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("moment") as batch:
        batch.add_column(sa.Column("translations", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("question") as batch:
        batch.add_column(sa.Column("translations", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("evaluation") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("language", sa.String(16), nullable=True))


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("evaluation") as batch:
        batch.drop_column("language")
    with op.batch_alter_table("question") as batch:
        batch.drop_column("translations")
    with op.batch_alter_table("moment") as batch:
        batch.drop_column("translations")
    with op.batch_alter_table("journey_version") as batch:
        batch.drop_column("languages")
        batch.drop_column("default_language_name")
        batch.drop_column("default_language")

"""signatures taken: each petition's online signatures in every state, settled with its count (read by /metrics)

Revision ID: petitions_signatures_taken
Revises: petitions_paper_signatures
Create Date: 2026-12-07 14:45:21.863701
"""
from alembic import op
import sqlalchemy as sa


revision = 'petitions_signatures_taken'
down_revision = 'petitions_paper_signatures'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signatures_taken', sa.Integer(), server_default='0', nullable=False))
    # the settle tick keeps it from now on, for the petitions whose signatures change; count the rest once
    op.execute("UPDATE petition SET signatures_taken = "
               "(SELECT count(*) FROM signature WHERE signature.petition_id = petition.id)")


def downgrade() -> None:
    with op.batch_alter_table('petition', schema=None) as batch_op:
        batch_op.drop_column('signatures_taken')

"""open-data snapshots: dated, write-once copies of the accountability datasets

Revision ID: app_open_data_snapshots
Revises: app_request_ids
Create Date: 2026-12-07 05:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision = 'app_open_data_snapshots'
down_revision = 'app_request_ids'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('open_data_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset', 'as_of', name='uq_open_data_snapshot')
    )


def downgrade() -> None:
    op.drop_table('open_data_snapshot')

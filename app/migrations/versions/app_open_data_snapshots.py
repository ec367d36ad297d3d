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
    # write-once: the database refuses any UPDATE of an archived snapshot (as app/models.py creates it)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE OR REPLACE FUNCTION open_data_snapshot_write_once() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'open-data snapshots are write-once'; END $$")
        op.execute("CREATE TRIGGER open_data_snapshot_write_once BEFORE UPDATE ON open_data_snapshot "
                   "FOR EACH ROW EXECUTE FUNCTION open_data_snapshot_write_once()")
    else:
        op.execute("CREATE TRIGGER open_data_snapshot_write_once BEFORE UPDATE ON open_data_snapshot "
                   "BEGIN SELECT RAISE(ABORT, 'open-data snapshots are write-once'); END")


def downgrade() -> None:
    op.drop_table('open_data_snapshot')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS open_data_snapshot_write_once()")

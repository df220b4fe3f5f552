"""The Analytics service's tables: the seed's event_snapshots (partitioned by month of
occurrence) and aggregates; the exact sets behind active learners and grades; the rebuild's
progress; the functions that create and drop partitions; the read model of courses; outbox
and inbox.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from lms_platform.migrations import add_outbox_destination, create_outbox_and_inbox
from lms_platform.read_models import courses

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")
UUID = pg.UUID(as_uuid=True)
TS = sa.TIMESTAMP(timezone=True)
ROLE = "lms_analytics"
KEY = sa.Text(collation="C")

# Partitions are made and dropped at run time (ahead of the months to come, on demand for a
# month no partition holds yet, and past retention), but the service's role may not change
# its own structure: these two functions, owned by the migrating role, are all it may call.
# They serialize on an advisory lock so that two consumers never race to create one table.
ENSURE_PARTITION = r"""
CREATE FUNCTION ensure_snapshot_partition(month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lms_analytics, pg_temp SET timezone = 'UTC'
AS $$
DECLARE
  first date := date_trunc('month', month)::date;
  kept date;
  name text := 'event_snapshots_' || to_char(first, 'YYYY_MM');
BEGIN
  SELECT kept_from INTO kept FROM snapshot_retention WHERE id = 1;
  IF kept IS NOT NULL AND first < kept THEN
    RETURN false;  -- dropped for retention: its events are not taken again
  END IF;
  IF to_regclass(name) IS NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext('lms_analytics.snapshot_partitions'));
    IF to_regclass(name) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF event_snapshots FOR VALUES FROM (%L) TO (%L)',
        name, first::timestamp AT TIME ZONE 'UTC',
        (first + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    END IF;
  END IF;
  RETURN true;
END
$$
"""

DROP_PARTITIONS = r"""
CREATE FUNCTION drop_snapshot_partitions_before(month date) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lms_analytics, pg_temp SET timezone = 'UTC'
AS $$
DECLARE
  first date := date_trunc('month', month)::date;
  part record;
  dropped integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('lms_analytics.snapshot_partitions'));
  -- Raised first: from now on an event of an earlier month is refused, not counted again.
  INSERT INTO snapshot_retention (id, kept_from) VALUES (1, first)
  ON CONFLICT (id) DO UPDATE SET kept_from = greatest(snapshot_retention.kept_from, first);
  FOR part IN
    SELECT c.relname FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'lms_analytics.event_snapshots'::regclass
      AND c.relname ~ '^event_snapshots_\d{4}_\d{2}$'
      AND to_date(substr(c.relname, 17), 'YYYY_MM') < first
  LOOP
    EXECUTE format('DROP TABLE %I', part.relname);
    dropped := dropped + 1;
  END LOOP;
  RETURN dropped;
END
$$
"""


def upgrade() -> None:
    # The seed's columns, and occurred_at: the partition key (the event's own time, which
    # a redelivery repeats). PostgreSQL takes a unique constraint on a partitioned table
    # only with the partition key in it, so event_id is unique together with occurred_at:
    # every delivery of one event carries the same occurredAt and lands in the same
    # partition, where the constraint holds for as long as the partition is kept.
    op.execute(
        """
        CREATE TABLE event_snapshots (
          id uuid NOT NULL,
          event_id uuid NOT NULL,
          event_type text NOT NULL,
          aggregate_id text NOT NULL,
          payload jsonb NOT NULL,
          occurred_at timestamptz NOT NULL,
          received_at timestamptz NOT NULL DEFAULT now(),
          CONSTRAINT pk_event_snapshots PRIMARY KEY (id, occurred_at),
          CONSTRAINT uq_event_snapshots_event UNIQUE (event_id, occurred_at)
        ) PARTITION BY RANGE (occurred_at)
        """
    )
    op.execute(
        "CREATE INDEX ix_event_snapshots_type_received ON event_snapshots (event_type, received_at)"
    )
    # The rebuild reads a day of snapshots at a time.
    op.execute("CREATE INDEX ix_event_snapshots_occurred ON event_snapshots (occurred_at)")
    # The rebuild asks whether a grading is a submission's newest.
    op.execute(
        "CREATE INDEX ix_event_snapshots_grades ON event_snapshots "
        "(((payload->'data'->>'submissionId'))) WHERE event_type = 'SubmissionGraded'"
    )
    op.create_table(
        "snapshot_retention",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        # Snapshots of earlier months are dropped; events of those months are refused.
        sa.Column("kept_from", sa.Date, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_snapshot_retention_one_row"),
    )

    op.create_table(
        "aggregates",
        sa.Column("id", UUID, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        # "course:<id>" or "platform". Keys are ASCII names: compared byte by byte ("C"),
        # several times faster in the indexes than by the database's language rules.
        sa.Column("dimension", KEY, nullable=False),
        # "2026-11-30" (a UTC day) or "2026-W49" (an ISO week)
        sa.Column("period", KEY, nullable=False),
        sa.Column("metric_name", KEY, nullable=False),
        sa.Column("value", sa.Numeric, nullable=False, server_default="0"),
        sa.Column("computed_at", TS, nullable=False, server_default=NOW),
        sa.UniqueConstraint(
            "dimension", "period", "metric_name", name="uq_aggregates_dimension_period_metric"
        ),
    )
    op.create_index("ix_aggregates_dimension_period", "aggregates", ["dimension", "period"])
    # The rebuild clears a period across every dimension.
    op.create_index("ix_aggregates_period", "aggregates", ["period"])

    op.create_table(
        "active_learners",
        sa.Column("period", KEY, nullable=False),
        sa.Column("course_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.PrimaryKeyConstraint("period", "course_id", "user_id", name="pk_active_learners"),
    )
    op.create_table(
        "submission_grades",
        sa.Column("submission_id", UUID, primary_key=True),
        sa.Column("course_id", UUID, nullable=False),
        # The newest grading seen: (version, event) orders them, whatever the arrival order.
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("day", sa.Text, nullable=False),
        sa.Column("week", sa.Text, nullable=False),
        sa.Column("pct", sa.Numeric, nullable=False),
    )
    op.create_table(
        "rebuilds",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("rebuild_id", UUID, nullable=False),
        sa.Column("from_day", sa.Date, nullable=False),
        sa.Column("to_day", sa.Date, nullable=False),
        # The next day to recompute; past to_day when finished.
        sa.Column("next_day", sa.Date, nullable=False),
        # Who may do the next day: the task (or the command) that holds this id.
        sa.Column("runner_id", UUID, nullable=False),
        sa.Column("snapshots", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("started_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.Column("finished_at", TS),
        sa.CheckConstraint("id = 1", name="ck_rebuilds_one_row"),
    )

    op.execute(ENSURE_PARTITION)
    op.execute(DROP_PARTITIONS)
    for function in ("ensure_snapshot_partition(date)", "drop_snapshot_partitions_before(date)"):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION {function} TO "{ROLE}"')

    courses.create_tables()
    create_outbox_and_inbox()
    add_outbox_destination()


def downgrade() -> None:
    for table in (
        "outbox", "inbox", "course_instructors", "course_lessons", "courses", "rebuilds",
        "submission_grades", "active_learners", "aggregates", "snapshot_retention",
        "event_snapshots",
    ):  # fmt: skip
        op.drop_table(table)
    op.execute("DROP FUNCTION ensure_snapshot_partition(date)")
    op.execute("DROP FUNCTION drop_snapshot_partitions_before(date)")

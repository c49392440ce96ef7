"""PostgreSQL's planner statistics, refreshed by a transaction that writes many rows.

PostgreSQL plans each query from statistics that ANALYZE gathers. Autovacuum gathers them in the
background, when it runs at all (it can be turned off, as on this project's test server) and only once
enough rows changed, up to a minute later. A freshly imported catalogue has none, and the planner guesses:
measured at 100,000 offers, the feed's read of the changes after a position (a range of its primary key)
became a scan of the whole feed, 3.4 ms instead of 0.3 ms, twice a match; a match took 57 ms (median, one
client) and 43 ms once the tables were analysed. PostgreSQL's documentation advises ANALYZE after a bulk
load: a transaction that records `BULK_CHANGES` or more changes in the feed runs one just before it commits.

In the transaction, so that it analyses the schema the session works in, and sees the transaction's own
rows (PostgreSQL samples rows its own transaction inserted); in a savepoint, so that a failure costs the
statistics, never the write. Two bulk writers analyse the tables in the same order, so one waits for the
other's commit at worst (`LOCK_TIMEOUT_MS`). SQLite keeps no statistics unless asked, and its plans here
were chosen without them: nothing runs there.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from matchmaker.db.base import Base
from matchmaker.db.changes import recorded_for_commit

logger = logging.getLogger(__name__)
# A transaction that records at least this many changes (offers, needs, organisations, ...) is a bulk write.
BULK_CHANGES = 1_000
# ANALYZE samples a fixed number of rows per table (about half a second at 100,000 offers). Should another
# transaction be analysing a table, this one waits this long, then leaves the statistics to it.
LOCK_TIMEOUT_MS = 5_000


def analyse(session: Session) -> None:
    """Gather the planner's statistics of the service's tables, in the session's transaction (PostgreSQL;
    the caller checks)."""
    started = time.monotonic()
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    before = session.scalar(text("SELECT current_setting('lock_timeout')"))
    session.execute(
        text("SELECT set_config('lock_timeout', :value, true)"), {"value": f"{LOCK_TIMEOUT_MS}ms"}
    )
    session.execute(text(f"ANALYZE {tables}"))
    session.execute(text("SELECT set_config('lock_timeout', :value, true)"), {"value": before})
    logger.info("planner statistics gathered in %.1f s", time.monotonic() - started)


# Registered after the feed's own `before_commit` listener (this module imports it), so it runs after the
# changes are recorded and counted.
@event.listens_for(Session, "before_commit")
def _analyse_bulk_write(session: Session) -> None:
    if session.in_nested_transaction() or len(recorded_for_commit(session)) < BULK_CHANGES:
        return
    if session.get_bind().dialect.name != "postgresql":
        return
    try:
        with session.begin_nested():
            analyse(session)
    except Exception:  # statistics missed cost speed, never the write
        logger.warning("could not gather the planner's statistics after a bulk write", exc_info=True)

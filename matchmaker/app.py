"""The FastAPI application: create_app(settings) wires routers, errors and the database."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session, sessionmaker

from matchmaker import __version__
from matchmaker.alerts.endpoints import router as alerts_router
from matchmaker.alerts.worker import AlertWorkers
from matchmaker.alliances.endpoints import router as alliances_router
from matchmaker.api_docs import install_api_docs
from matchmaker.config import Settings, get_settings
from matchmaker.db.changes import ChangeSignal
from matchmaker.db.session import make_engine, make_session_factory
from matchmaker.errors import install_problem_handlers, register_problem_schema
from matchmaker.evidence.endpoints import router as evidence_router
from matchmaker.factors.endpoints import router as factors_router
from matchmaker.feedback.endpoints import router as feedback_router
from matchmaker.health import router as health_router
from matchmaker.imports.endpoints import router as imports_router
from matchmaker.inquiries.endpoints import router as inquiries_router
from matchmaker.lca.endpoints import router as lca_router
from matchmaker.matching.endpoints import router as matching_router
from matchmaker.matching.lifecycle import ChangeFollower, EngineStart
from matchmaker.metrics.endpoints import router as metrics_router
from matchmaker.middleware import install_middleware
from matchmaker.needs.endpoints import router as needs_router
from matchmaker.offers.endpoints import router as offers_router
from matchmaker.pact.endpoints import install_pact
from matchmaker.parties.endpoints import router as parties_router
from matchmaker.pcf.endpoints import router as pcf_router
from matchmaker.plausibility.endpoints import router as plausibility_router
from matchmaker.retries import RetryLostRaces
from matchmaker.routing import CheckedRoute
from matchmaker.shortlists.endpoints import router as shortlists_router
from matchmaker.web.mount import install_web

DESCRIPTION = """
Matchmaker matches low-carbon supply with procurement demand. Vendors list offers with product carbon
footprints; buyers post needs with hard footprint ceilings; the operator admits organisations and manages
alliances. Authenticate with an organisation's API key: **Authorize** above, or `Authorization: Bearer <key>`.
Errors are RFC 9457 `application/problem+json`.
"""


# Without LISTEN/NOTIFY (SQLite), the feed is read in the background this often.
FOLLOW_POLL_SECONDS = 1.0


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    """Build the app; the engine is made at start-up (never at import), unless a session factory is given."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = None
        if session_factory is None:
            database = make_engine(settings.sqlalchemy_url)
            app.state.session_factory = make_session_factory(database)
        else:
            app.state.session_factory = session_factory
        # The model loads here, in a worker thread, never at import time; the indexes load beside the app.
        starting = await run_in_threadpool(EngineStart, settings, app.state.session_factory)
        app.state.engine_start, app.state.engine = starting, starting.engine
        background = settings.start_in_background
        if background or (background is None and session_factory is None):
            starting.begin()
        else:
            await run_in_threadpool(starting.run)
        follower, alerts = None, None
        if database is not None:  # its own pool: a thread of its own may read the feed beside requests
            signal = await run_in_threadpool(
                functools.partial(ChangeSignal, database, poll_seconds=FOLLOW_POLL_SECONDS)
            )
            follower = ChangeFollower(starting, app.state.session_factory, signal)
            follower.start()
            alerts = AlertWorkers(
                starting, app.state.session_factory, allow_private=settings.webhook_allow_private,
                data_dir=settings.data_dir,
            )  # fmt: skip
            await run_in_threadpool(alerts.start)
        try:
            yield
        finally:
            if follower is not None:
                follower.stop()
            if alerts is not None:
                alerts.stop()
            starting.stop()
            if database is not None:
                database.dispose()

    app = FastAPI(
        title="Matchmaker", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served by `install_api_docs`, without a CDN
    )  # fmt: skip
    # The app's own routes too: every JSON body is checked for text that cannot be stored.
    app.router.route_class = CheckedRoute
    app.state.settings = settings
    if session_factory is not None:
        app.state.session_factory = session_factory
    install_problem_handlers(app)
    register_problem_schema(app)
    # Inside every other middleware added later (they see one request), outside the routes' handlers.
    app.add_middleware(RetryLostRaces, owner=app)
    for router in (
        health_router,
        parties_router,
        alliances_router,
        offers_router,
        evidence_router,
        factors_router,
        pcf_router,
        lca_router,
        plausibility_router,
        needs_router,
        imports_router,
        matching_router,
        shortlists_router,
        inquiries_router,
        feedback_router,
        alerts_router,
        metrics_router,
    ):
        app.include_router(router)

    install_pact(app)
    install_web(app)
    install_api_docs(app)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui")

    # Last, so that they are the outermost: every body is counted and every unexpected error answered.
    install_middleware(app, settings=settings)
    return app

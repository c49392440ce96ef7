"""The `matchmaker` command: serve, migrate, import, issue keys, load the demo."""

from __future__ import annotations

import functools
import logging
import os
import ssl
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from matchmaker.auth import Principal, Role
from matchmaker.config import Settings, get_settings, scratch_settings
from matchmaker.errors import MatchmakerError

if TYPE_CHECKING:
    from matchmaker.matching.engine import Engine
    from matchmaker.matching.indexer import Keep

app = typer.Typer(
    help="Matchmaker: match low-carbon supply with procurement demand.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk import (JSON Lines or CSV in the exchange format).", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(keys_app, name="keys")
index_app = typer.Typer(help="The vector indexes of offers and needs.", no_args_is_help=True)
app.add_typer(index_app, name="index")
pact_app = typer.Typer(
    help="PACT: pull footprints from PACT hosts or files; OAuth clients of our host.", no_args_is_help=True
)
pact_clients_app = typer.Typer(help="OAuth clients of the PACT host.", no_args_is_help=True)
app.add_typer(pact_app, name="pact")
pcf_app = typer.Typer(
    help="PCF accounting: footprints calculated from bills of materials.", no_args_is_help=True
)
app.add_typer(pcf_app, name="pcf")
pact_app.add_typer(pact_clients_app, name="clients")
DEFAULT_EVAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval-dev"
DEFAULT_CONSTRAINT_TEXTS = Path(__file__).resolve().parents[1] / "evaluation" / "constraints" / "texts.jsonl"

# markup=False: user text such as "[/x]" in a file or a name must print as written.
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
out = Console(highlight=False, soft_wrap=True, markup=False)

# The command line is run by whoever runs the service: it acts with the operator's rights.
CLI_OPERATOR = Principal(organisation_id=0, role="operator", key_id=0)


def fail(message: str) -> NoReturn:
    """Print a one-line error and exit 1."""
    err.print(f"error: {message}", style="red")
    raise typer.Exit(1)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one line instead of a traceback."""
    try:
        yield
    except MatchmakerError as error:
        fail(error.detail)
    except (OperationalError, StaleDataError) as error:
        from matchmaker.db.races import lost_race

        if lost_race(error):
            # The transaction was rolled back whole; imports are upserts, so running again is safe.
            fail("the database stayed busy with other writers and nothing was written: run the command again")
        assert isinstance(error, OperationalError)  # a StaleDataError is always a lost race
        fail(f"database unreachable or not migrated: {str(error.orig).strip().splitlines()[0]}")
    except OSError as error:
        fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error))


@contextmanager
def session_scope(settings: Settings, *, migrate: bool = True, writes: bool = True) -> Iterator[Session]:
    """A committed-on-success session on the configured database, migrated to head first; one that
    only reads (`writes=False`) leaves SQLite's write lock to the server's writers."""
    from matchmaker.db.migrate import upgrade
    from matchmaker.db.session import make_engine, make_session_factory, transaction

    engine = make_engine(settings.sqlalchemy_url)
    try:
        if migrate:
            upgrade(engine)
        with transaction(make_session_factory(engine), writes=writes) as session:
            yield session
    finally:
        engine.dispose()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port", min=1, max=65535)] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(help="serve HTTPS with this certificate (PEM)")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="the certificate's private key (PEM)")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="worker processes (each loads the indexes; PostgreSQL keeps them in step)"
        ),
    ] = 1,
) -> None:
    """Run the HTTP API (HTTPS with --ssl-certfile and --ssl-keyfile, as PACT requires)."""
    import uvicorn

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    if (ssl_certfile is None) != (ssl_keyfile is None):
        fail("--ssl-certfile and --ssl-keyfile go together")
    for path in (ssl_certfile, ssl_keyfile):
        if path is not None and not path.is_file():
            fail(f"no such file: {path}")
    with cli_errors():
        _check_saved_indexes(settings)
    # The service's own messages (index loading and building progress) beside uvicorn's.
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    scheme = "https" if ssl_certfile else "http"
    err.print(f"Matchmaker on {scheme}://{host}:{port}  (API docs: {scheme}://{host}:{port}/docs)")
    uvicorn.run(
        "matchmaker.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=settings.log_level,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        workers=workers,
    )


def _check_saved_indexes(settings: Settings) -> None:
    """Fail in one line, before the server starts, if a saved index was built by another model."""
    from matchmaker.vectors.index import IndexMismatch

    engine = _engine(settings)
    for catalogue in (engine.offers, engine.needs):
        try:
            catalogue.check_saved()
        except IndexMismatch as error:
            fail(str(error))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from matchmaker.factors import service as factors
    from matchmaker.factors.library import LibraryInvalid

    settings = get_settings()
    with cli_errors(), session_scope(settings) as session:
        try:
            loaded = factors.load_shipped(session=session)
        except LibraryInvalid as error:
            fail(str(error))
    out.print(f"database at {_safe_url(settings)} is up to date")
    for version, outcome in loaded:
        if outcome == "loaded":
            out.print(f"factor library {version} loaded")


def _safe_url(settings: Settings) -> str:
    from sqlalchemy import make_url

    return make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)


def _read_text(path: Path) -> str:
    from matchmaker.imports.decoding import decode_upload

    if not path.is_file():
        fail(f"no such file: {path}")
    return decode_upload(path.read_bytes())


def _run_import(label: str, total: int, run: Callable[[Callable[[int], None]], object]) -> bool:
    """Run an import with a progress bar, print its report; return whether every line was taken."""
    from matchmaker.imports.schemas import ImportReport

    with _progress_bar(f"importing {label}") as progress:
        task = progress.add_task(label, total=total)
        report = run(lambda n: progress.advance(task, n))
    assert isinstance(report, ImportReport)
    for error in report.errors:
        where = f"line {error.line}" + (f" (id {error.id})" if error.id else "")
        err.print(f"{where}: {error.message}", style="yellow")
    if report.errors_not_listed:
        err.print(f"... and {report.errors_not_listed} more rejected lines, not listed", style="yellow")
    for warning in report.warnings:
        err.print(f"warning: {warning}", style="yellow")
    out.print(
        f"{report.kind}: {report.total} read, {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.failed} failed"
    )
    return report.failed == 0


def _import_file(kind: str, path: Path) -> None:
    from matchmaker.imports import service
    from matchmaker.imports.readers import count_uploaded, detect_format, read_upload

    settings = get_settings()
    with cli_errors():
        if not path.is_file():
            fail(f"no such file: {path}")
        body = path.read_bytes()
        file_format = detect_format(path.name)
        records = read_upload(body, file_format)
        importer = service.import_offers if kind == "offers" else service.import_needs
        with _importing(settings) as session:
            complete = _run_import(
                kind,
                count_uploaded(body, file_format),
                lambda advance: importer(
                    session=session, principal=CLI_OPERATOR, records=records, progress=advance
                ),
            )
    # Exit only after the commit: the good lines stay imported.
    if not complete:
        raise typer.Exit(1)


@import_app.command("offers")
def import_offers(file: Annotated[Path, typer.Argument(help="a .jsonl, .csv or .xlsx file")]) -> None:
    """Import offers (upsert by supplier and id; suppliers are created admitted)."""
    _import_file("offers", file)


@import_app.command("needs")
def import_needs(file: Annotated[Path, typer.Argument(help="a .jsonl, .csv or .xlsx file")]) -> None:
    """Import needs (upsert by buyer and id; buyers are created admitted)."""
    _import_file("needs", file)


@import_app.command("carbon-catalogue")
def import_carbon_catalogue(
    file: Annotated[Path, typer.Argument(help="the catalogue's product_level.csv")],
) -> None:
    """Import the Carbon Catalogue's 866 real product footprints as offers."""
    from matchmaker.imports import service
    from matchmaker.imports.carbon_catalogue import read_catalogue
    from matchmaker.imports.readers import count_records

    settings = get_settings()
    with cli_errors():
        text = _read_text(file)
        records = read_catalogue(text)
        with _importing(settings) as session:
            complete = _run_import(
                "carbon-catalogue",
                count_records(text, "csv"),
                lambda advance: service.import_offers(
                    session=session, principal=CLI_OPERATOR, records=records, progress=advance
                ),
            )
    if not complete:
        raise typer.Exit(1)


@import_app.command("lca")
def import_lca(
    file: Annotated[Path, typer.Argument(help="an openLCA JSON-LD zip, an ILCD zip or an ILCD XML data set")],
    supplier: Annotated[
        str | None, typer.Option(help="the supplier the products are for (default: each data set's owner)")
    ] = None,
    declared_unit: Annotated[
        str | None, typer.Option(help="the reference flow's unit, when the file lacks the flow's data set")
    ] = None,
    publish: Annotated[bool, typer.Option(help="publish the offers (default: drafts to review)")] = False,
) -> None:
    """Import LCA results as footprints, one offer per product; exit 1 when a data set was not imported."""
    from matchmaker.lca.service import import_file
    from matchmaker.units import UnitError, canonical_declared_unit

    try:
        unit = None if declared_unit is None else canonical_declared_unit(declared_unit)
    except UnitError as error:
        usage_error(str(error))
    settings = get_settings()
    with cli_errors():
        if not file.is_file():
            fail(f"no such file: {file}")
        body = file.read_bytes()
        with _importing(settings) as session:
            report = import_file(
                session=session, principal=CLI_OPERATOR, name=file.name, body=body, supplier=supplier,
                declared_unit=unit, status="published" if publish else "draft",
            )  # fmt: skip
    for item in report.data_sets:
        if item.outcome == "failed":
            err.print(f"{item.path}: {item.message}", style="yellow")
        else:
            footprint = f"{item.pcf_value:g} {item.pcf_unit}"
            out.print(f"{item.path}: {item.outcome} offer {item.offer_id}, {item.name}: {footprint}")
    for warning in report.warnings:
        err.print(f"warning: {warning}", style="yellow")
    out.print(
        f"lca ({report.format}): {len(report.data_sets)} data sets, {report.count('created')} created, "
        f"{report.count('updated')} updated, {report.count('unchanged')} unchanged, "
        f"{report.count('failed')} failed"
    )
    if report.count("failed") or not report.data_sets:
        raise typer.Exit(1)


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option(help="organisation name; created (admitted) if it does not exist")],
    role: Annotated[Role, typer.Option(help="operator, vendor or buyer")],
    label: Annotated[str | None, typer.Option(help="a note to recognise the key by")] = None,
) -> None:
    """Issue an API key; the key is printed as the last line and never shown again."""
    from matchmaker.parties import service

    settings = get_settings()
    with cli_errors(), session_scope(settings) as session:
        # A new organisation gets the kind that matches the role (operator, vendor or buyer).
        organisation, _ = service.ensure(session=session, name=org, kind=role, region=None, admitted=True)
        _, plaintext = service.issue_key(session=session, organisation=organisation, role=role, label=label)
    err.print(f"{role} key for {org!r} (shown once; store it now):")
    print(plaintext)


def _import_footprints(label: str, footprints: list[object], supplier: str | None) -> bool:
    """Import footprints as offers (suppliers created admitted), with the import's report; return whether
    every footprint was taken."""
    from matchmaker.matching.glossary import load_glossary
    from matchmaker.matching.text import Analyzer
    from matchmaker.pact.importing import import_footprints

    settings = get_settings()
    analyzer = Analyzer(load_glossary(settings.glossary_path))

    def category(text: str) -> str | None:
        return analyzer.infer_category(analyzer.analyze(text))

    with cli_errors(), _importing(settings) as session:
        complete = _run_import(
            label,
            len(footprints),
            lambda advance: import_footprints(
                session=session, principal=CLI_OPERATOR, footprints=footprints, supplier=supplier,
                infer_category=category, progress=advance,
            ),
        )  # fmt: skip
    return complete


def usage_error(message: str) -> NoReturn:
    """Print a one-line error about how the command was called and exit 2."""
    err.print(f"error: {message}", style="red")
    raise typer.Exit(2)


# A secret typed as an option shows in `ps` and the shell history; these are the ways that do not.
CLIENT_SECRET_ENV = "MATCHMAKER_PACT_CLIENT_SECRET"
CALLBACK_SECRET_ENV = "MATCHMAKER_PACT_CALLBACK_CLIENT_SECRET"
_ARGV_SECRET = "a secret typed here shows in `ps` and the shell history: prefer"


def _secret(
    ctx: typer.Context, *, name: str, value: str | None, file: Path | None, envvar: str
) -> str | None:
    """The secret from exactly one of its sources (option `name`, its environment variable, its file), or
    None when none is given. No message ever repeats the secret."""
    option = "--" + name.replace("_", "-")
    sources: list[str] = []
    source = ctx.get_parameter_source(name)
    # By name: typer may bring its own copy of click, whose enum is another class.
    if source is not None and source.name == "COMMANDLINE":
        sources.append(option)
        if os.environ.get(envvar):
            sources.append(envvar)  # shadowed by the option: still two sources
    elif value is not None:
        sources.append(envvar)
    if file is not None:
        sources.append(f"{option}-file")
    if len(sources) > 1:
        usage_error(f"give the secret one way, not by {' and '.join(sources)}")
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8")
        except OSError as error:
            usage_error(f"cannot read {option}-file {file}: {error.strerror or type(error).__name__}")
        except UnicodeDecodeError:
            usage_error(f"{option}-file {file} is not UTF-8 text")
        # An editor or `echo` ends the file with a newline that is not part of the secret.
        value = value.removesuffix("\n").removesuffix("\r") if value.endswith("\n") else value
        if not value:
            usage_error(f"{option}-file {file} is empty")
    if value == "":
        usage_error(f"{sources[0]} is empty")
    return value


@pact_app.command("pull")
def pact_pull(
    ctx: typer.Context,
    base_url: Annotated[str, typer.Option(help="the host's API base URL, e.g. https://pcf.example.com")],
    client_id: Annotated[str, typer.Option(help="OAuth2 client id the host issued")],
    client_secret: Annotated[
        str | None,
        typer.Option(
            envvar=CLIENT_SECRET_ENV, help=f"its secret; {_ARGV_SECRET} the env var or --client-secret-file"
        ),
    ] = None,
    client_secret_file: Annotated[
        Path | None, typer.Option(help="read the secret from this file (a trailing newline is dropped)")
    ] = None,
    version: Annotated[int, typer.Option(help="PACT API version: 2 or 3", min=2, max=3)] = 3,
    supplier: Annotated[str | None, typer.Option(help="file every footprint under this supplier")] = None,
    max_pages: Annotated[
        int | None,
        typer.Option(min=1, help="read at most this many pages (default 10,000), import what was read"),
    ] = None,
) -> None:
    """Pull every footprint a PACT host shares with you and list each as an offer of its company.

    Give the secret by MATCHMAKER_PACT_CLIENT_SECRET or --client-secret-file, one source only.

    A pull cut short (the page cap, a next link that loops) imports what it read and exits 1."""
    from matchmaker.pact.client import MAX_PAGES, PactClient, PactClientError, PullSettings, PullStopped

    secret = _secret(
        ctx, name="client_secret", value=client_secret, file=client_secret_file, envvar=CLIENT_SECRET_ENV
    )
    if secret is None:
        usage_error(f"no client secret: set {CLIENT_SECRET_ENV} or give --client-secret-file")
    pulled: list[object] = []
    stopped: PullStopped | None = None
    try:
        settings = PullSettings(
            base_url=base_url, client_id=client_id, client_secret=secret, version=version,
            max_pages=max_pages or MAX_PAGES,
        )  # fmt: skip
        with PactClient(settings) as client:
            for footprint in client.footprints():
                pulled.append(footprint)
    except PullStopped as error:
        stopped = error  # the pages before the stop were read: their footprints are imported
    except (PactClientError, ValueError) as error:  # ValueError: settings such as a relative --base-url
        fail(str(error))
    err.print(f"pulled {len(pulled)} footprints from {base_url}" + (f", {stopped}" if stopped else ""))
    complete = _import_footprints("footprints", pulled, supplier)
    if stopped is not None:
        read = len(pulled)
        fail(
            f"incomplete pull (stopped after page {stopped.pages}): the {read} footprints read were imported"
        )
    if not complete:
        raise typer.Exit(1)


@pact_app.command("import")
def pact_import(
    file: Annotated[Path, typer.Argument(help='a PACT JSON file: one footprint, a list, or {"data": [...]}')],
    supplier: Annotated[str | None, typer.Option(help="file every footprint under this supplier")] = None,
) -> None:
    """Import PACT footprints (v2 or v3) from a file, each as an offer of its company."""
    from matchmaker.pact.importing import FileUnreadable, footprints_in_file

    with cli_errors():
        text = _read_text(file)
    try:
        footprints = footprints_in_file(text)
    except FileUnreadable as error:
        fail(f"{file}: {error}")
    if not _import_footprints("footprints", footprints, supplier):
        raise typer.Exit(1)


@pcf_app.command("calc")
def pcf_calc(
    file: Annotated[Path, typer.Argument(help='a bill of materials (JSON; README, "PCF accounting")')],
    offer: Annotated[
        int | None, typer.Option(help="save the result as this offer's footprint (calculated, not verified)")
    ] = None,
) -> None:
    """Calculate a footprint from a bill of materials with the factor library; exit 1 when a line has none."""
    from pydantic import ValidationError

    from matchmaker.clean_text import loads
    from matchmaker.imports.service import describe_validation_error
    from matchmaker.offers import service as offers
    from matchmaker.pcf import service
    from matchmaker.pcf.bom import BillOfMaterials
    from matchmaker.pcf.report import lines_of

    settings = get_settings()
    with cli_errors():
        text = _read_text(file)
    try:
        bom = BillOfMaterials.model_validate(loads(text))
    except ValueError as error:
        detail = describe_validation_error(error) if isinstance(error, ValidationError) else str(error)
        fail(f"{file}: {detail}")
    with cli_errors(), session_scope(settings, writes=offer is not None) as session:
        result = service.preview(session=session, principal=CLI_OPERATOR, bom=bom)
        if offer is not None and result.complete:
            target = offers.get_editable(session=session, principal=CLI_OPERATOR, offer_id=offer)
            service.save(session=session, principal=CLI_OPERATOR, offer=target, bom=bom)
    for line in lines_of(result):
        out.print(line)
    if not result.complete:
        raise typer.Exit(1)
    if offer is not None:
        err.print(f"saved as offer {offer}'s footprint: calculated, not verified")


@pcf_app.command("recalc")
def pcf_recalc(
    version: Annotated[str, typer.Option(help="the factor library version to calculate with")],
    apply: Annotated[bool, typer.Option(help="write the new footprints (default: only list them)")] = False,
) -> None:
    """List the calculated footprints a library version changes, old and new; with --apply, write them
    (the old calculations stay in each offer's history)."""
    from matchmaker.pcf import service

    settings = get_settings()
    with cli_errors(), session_scope(settings, writes=apply) as session:
        run = service.recalculate if apply else service.pending
        changes = run(session=session, principal=CLI_OPERATOR, version=version)
    for change in changes:
        new = (
            f"{change.new_total:.6g}"
            if change.new_total is not None
            else "not calculated again: " + "; ".join(change.gaps)
        )
        old = f"{change.old_total:.6g}" if change.old_total is not None else "-"
        out.print(
            f"offer {change.offer_id} {change.title}: {old} -> {new} {change.unit} "
            f"(library {change.old_library_version} -> {version})"
        )
    written = sum(change.new_total is not None for change in changes) if apply else 0
    out.print(f"{len(changes)} calculated footprints change under library {version}; {written} written")


@pact_clients_app.command("create")
def pact_clients_create(
    ctx: typer.Context,
    org: Annotated[str, typer.Option(help="the organisation the client acts for (must exist)")],
    label: Annotated[str | None, typer.Option(help="a note to recognise the client by")] = None,
    callback_url: Annotated[
        str | None, typer.Option(help="their PACT host's base URL: answers to their requests go there only")
    ] = None,
    callback_client_id: Annotated[
        str | None, typer.Option(help="client id our host presents to theirs when delivering events")
    ] = None,
    callback_client_secret: Annotated[
        str | None,
        typer.Option(
            envvar=CALLBACK_SECRET_ENV,
            help=f"its secret; {_ARGV_SECRET} the env var or --callback-client-secret-file",
        ),
    ] = None,
    callback_client_secret_file: Annotated[
        Path | None, typer.Option(help="read that secret from this file (a trailing newline is dropped)")
    ] = None,
) -> None:
    """Issue PACT OAuth client credentials: the client id, then the secret, as the last two lines.

    Give a callback secret by MATCHMAKER_PACT_CALLBACK_CLIENT_SECRET or --callback-client-secret-file."""
    from matchmaker.pact import service as pact_service
    from matchmaker.pact.events import may_deliver_to
    from matchmaker.parties import repository as parties

    callback_secret = _secret(
        ctx, name="callback_client_secret", value=callback_client_secret, file=callback_client_secret_file,
        envvar=CALLBACK_SECRET_ENV,
    )  # fmt: skip
    if callback_secret is not None and callback_client_id is None:
        usage_error("a callback client secret needs --callback-client-id")
    settings = get_settings()
    if callback_url is not None and not may_deliver_to(callback_url):
        fail(f"--callback-url must be an https URL (plain http only on this machine): {callback_url}")
    with cli_errors(), session_scope(settings) as session:
        organisation = parties.get_by_name(session, org)
        if organisation is None:
            fail(f"no organisation named {org!r}")
        new = pact_service.create_client(
            session=session, organisation=organisation, label=label,
            callback_url=callback_url, callback_client_id=callback_client_id,
            callback_client_secret=callback_secret,
        )  # fmt: skip
        client_id = new.client.client_id
    err.print(f"PACT client for {org!r} (the secret is shown once; store it now):")
    print(client_id)
    print(new.secret)


@app.command()
def demo() -> None:
    """Load the demo dataset and print an operator, a buyer and a vendor key."""
    from matchmaker.demo import load_demo

    settings = get_settings()
    with cli_errors(), session_scope(settings) as session:
        keys = load_demo(session=session, progress_console=err)
    out.print(f"demo data loaded into {_safe_url(settings)}")
    for role, (organisation, key) in keys.items():
        out.print(f"{role:8} key ({organisation}): {key}")


class _RateColumn(ProgressColumn):
    """Rows a second, once there is a rate to show."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")


def _progress_bar(label: str) -> Progress:
    """A bar with the count, the rate, the time taken and the time left."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal and not sys.stderr.isatty(),
    )


@contextmanager
def _importing(settings: Settings) -> Iterator[Session]:
    """A session for an import; once it has committed, what it changed is embedded on every core and the
    vectors stored (outside the import's transaction: other writers are not held up by the model), and the
    saved indexes take it in. The next `serve`, and a server without the saved index, read the vectors
    instead of embedding the catalogue."""
    with session_scope(settings) as session:
        yield session
    _leave_index(settings, _engine(settings, offline=True))


@contextmanager
def _storing_vectors(settings: Settings) -> Iterator[Keep]:
    """Where a command stores the vectors it embedded: each batch in a short transaction of its own, so a
    server's writers wait for one batch, not for the whole command."""
    from matchmaker.db.session import make_engine, make_session_factory
    from matchmaker.matching.stored_vectors import store_apart

    database = make_engine(settings.sqlalchemy_url)
    try:
        yield functools.partial(store_apart, make_session_factory(database))
    finally:
        database.dispose()


def _leave_index(settings: Settings, engine: Engine) -> None:
    """Bring the saved indexes up to date with what an import changed and store the vectors it embedded,
    so the next `serve` loads them and answers at once."""
    with session_scope(settings, writes=False) as session, _storing_vectors(settings) as keep:
        for catalogue in (engine.offers, engine.needs):
            catalogue.load()
            with _progress_bar(f"indexing {catalogue.kind}") as bar:
                task = bar.add_task(catalogue.kind, total=None)

                def advance(n: int, bar: Progress = bar, task: TaskID = task) -> None:
                    bar.advance(task, n)

                catalogue.reconcile(session, progress=advance, keep=keep)
            catalogue.save()


def _engine(settings: Settings, *, offline: bool = False) -> Engine:
    from matchmaker.matching.engine import engine_from_settings

    return engine_from_settings(settings, offline=offline)


@index_app.command("rebuild")
def index_rebuild() -> None:
    """Index every published offer and open need again and save the indexes: texts without a stored vector
    of this model are embedded, and their vectors stored."""
    from matchmaker.matching.indexer import count_matchable

    settings = get_settings()
    with cli_errors(), session_scope(settings, writes=False) as session, _storing_vectors(settings) as keep:
        engine = _engine(settings, offline=True)
        for catalogue in (engine.offers, engine.needs):
            total = count_matchable(session, catalogue.kind)
            with _progress_bar(f"indexing {catalogue.kind}") as bar:
                task = bar.add_task(catalogue.kind, total=total)

                def advance(n: int, bar: Progress = bar, task: TaskID = task) -> None:
                    bar.advance(task, n)

                count = catalogue.rebuild(session, progress=advance, keep=keep)
            catalogue.save()
            out.print(f"{catalogue.kind}: {count} indexed with {engine.embedder.identity.name}")


@index_app.command("verify")
def index_verify() -> None:
    """Compare the saved indexes with the database; exit 1 if they drifted."""
    from matchmaker.matching.indexer import matchable_documents

    settings = get_settings()
    clean = True
    with cli_errors(), session_scope(settings, writes=False) as session:
        engine = _engine(settings)
        for catalogue in (engine.offers, engine.needs):
            if not catalogue.load():
                out.print(f"{catalogue.kind}: no saved index (run `matchmaker index rebuild`)")
                clean = False
                continue
            drift = catalogue.drift(matchable_documents(session, catalogue.kind))
            clean &= drift.clean
            out.print(
                f"{catalogue.kind}: {len(catalogue.versions)} indexed; {len(drift.missing)} missing, "
                f"{len(drift.stale)} stale, {len(drift.ghosts)} ghosts"
                + ("" if drift.clean else f" (e.g. ids {(drift.missing + drift.stale + drift.ghosts)[:5]})")
            )
    if not clean:
        raise typer.Exit(1)


@app.command()
def match(
    all_needs: Annotated[bool, typer.Option("--all-needs", help="every open need")] = False,
    need: Annotated[list[str] | None, typer.Option(help="a need's id from the import (repeatable)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="offers per need")] = 10,
    output_format: Annotated[str, typer.Option("--format", help="jsonl")] = "jsonl",
) -> None:
    """Print the ranked offers of needs, one JSON line per need, exactly as the API ranks them."""
    import json

    from matchmaker.matching.evaluation import open_needs, ranked_external_ids

    if output_format != "jsonl":
        fail(f"unknown format {output_format!r}; use jsonl")
    if not all_needs and not need:
        fail("name needs with --need ID, or use --all-needs")
    settings = get_settings()
    with cli_errors(), session_scope(settings, writes=False) as session:
        engine = _engine(settings)
        engine.start(session)
        chosen = open_needs(session)
        if need:
            wanted = set(need)
            chosen = [n for n in chosen if n.external_id in wanted]
            unknown = wanted - {n.external_id for n in chosen}
            if unknown:
                fail(f"no open need with id {', '.join(sorted(unknown))}")
        for item in chosen:
            ranked = ranked_external_ids(session=session, engine=engine, need=item, limit=limit)
            print(json.dumps({"need_id": item.external_id, "ranked_offer_ids": ranked}, ensure_ascii=False))
        engine.save()


@app.command("eval")
def evaluate(
    data: Annotated[
        Path, typer.Option(help="a development set: offers.jsonl, needs.jsonl, qrels, score.py")
    ] = (DEFAULT_EVAL_DATA),
    results: Annotated[
        Path | None, typer.Option(help="also write the rankings (JSONL) into this folder")
    ] = None,
) -> None:
    """Run the development set end to end in a temporary data directory and print its scores."""
    import tempfile

    from matchmaker.matching import evaluation

    if not (data / "offers.jsonl").is_file():
        fail(f"no development set at {data} (expected offers.jsonl, needs.jsonl, qrels.tsv, score.py)")
    with cli_errors(), tempfile.TemporaryDirectory(prefix="matchmaker-eval-") as scratch:
        settings = scratch_settings(Path(scratch))
        with session_scope(settings) as session:
            evaluation.import_dataset(session, data)
            engine = _engine(settings)
            engine.start(session)
            needs = evaluation.open_needs(session)
            with _progress_bar("matching needs") as bar:
                task = bar.add_task("needs", total=len(needs))
                run = evaluation.run(session=session, engine=engine, progress=lambda n: bar.advance(task, n))
        scores = evaluation.score(data, run)
    if results:
        results.mkdir(parents=True, exist_ok=True)
        evaluation.write_jsonl(results / "filtered.jsonl", run.filtered)
        evaluation.write_jsonl(results / "unfiltered.jsonl", run.unfiltered)
    filtered, unfiltered = scores["filtered"], scores["unfiltered"]
    out.print(
        f"model {engine.embedder.identity.name} {engine.embedder.identity.version}; {filtered['needs']} needs"
    )
    out.print(
        f"filtered:   nDCG@10 (all) {filtered['ndcg_all']:.4f}  nDCG@10 (answerable) {filtered['ndcg']:.4f}  "
        f"Recall@10 {filtered['recall']:.4f}  MRR {filtered['mrr']:.4f}  "
        f"empty-answer accuracy {filtered['empty_correct']:.4f}  filter violations {filtered['violations']}"
    )
    out.print(
        f"unfiltered: nDCG@10 {unfiltered['ndcg']:.4f}  Recall@10 {unfiltered['recall']:.4f}  "
        f"MRR {unfiltered['mrr']:.4f}"
    )


@app.command("eval-constraints")
def evaluate_constraints(
    texts: Annotated[
        Path, typer.Option(help="labelled texts (JSONL): id, split, language, text, expected")
    ] = DEFAULT_CONSTRAINT_TEXTS,
    at_least: Annotated[float, typer.Option(help="exit 1 when the exact-match accuracy is below this")] = 0.0,
) -> None:
    """Read the constraints written in labelled texts; print the exact-match accuracy and every miss."""
    from matchmaker.matching import constraint_evaluation

    if not texts.is_file():
        fail(f"no labelled texts at {texts}")
    if not 0.0 <= at_least <= 1.0:  # NaN too
        fail("--at-least is a share of the texts: from 0 to 1")
    with cli_errors():
        try:
            labelled = constraint_evaluation.read_labelled(texts)
        except constraint_evaluation.NotLabelled as error:
            fail(str(error))
        outcomes = constraint_evaluation.evaluate(labelled)
    for line in constraint_evaluation.report(outcomes):
        out.print(line)
    exact, total = constraint_evaluation.accuracy(outcomes)
    if total == 0 or exact / total < at_least:
        fail(f"exact-match accuracy {exact}/{total} is below {at_least}")


def main() -> None:
    """The console entry point: a mistake in the configuration or the arguments that only shows deep
    inside a command (a settings value, a database URL, a certificate, a model, text that cannot be
    encoded, a value too long for the database) ends in one line, not a traceback."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, DataError, NoSuchModuleError

    from matchmaker.vectors.embedder import EmbedderUnavailable
    from matchmaker.vectors.index import IndexMismatch

    message: str
    try:
        app()
        return
    except ValidationError as error:  # the settings, read from the environment
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in error.errors())
        message = f"invalid configuration: {problems}"
    except (ArgumentError, NoSuchModuleError) as error:
        message = f"invalid database URL: {str(error).splitlines()[0]}"
    except ModuleNotFoundError as error:  # a database driver or model back end the settings name
        message = f"{error.name or 'a module'} is not installed (the database URL or the model needs it)"
    except IndexMismatch as error:
        message = str(error)
    except DataError as error:
        message = f"the database refused a value: {str(error.orig).strip().splitlines()[0]}"
    except ssl.SSLError as error:
        message = f"cannot use the certificate or key: {error.reason or error}"
    except EmbedderUnavailable as error:
        message = str(error)
    except (UnicodeEncodeError, UnicodeDecodeError) as error:
        message = f"text that cannot be read or written as UTF-8: {error.reason}"
    except RecursionError:
        message = "the input is nested too deeply"
    # Outside the app: typer's Exit (which `fail` raises) is only handled inside it.
    err.print(f"error: {message}", style="red")
    raise SystemExit(1)


if __name__ == "__main__":  # pragma: no cover
    main()

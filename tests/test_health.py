from fastapi.testclient import TestClient
from sqlalchemy.orm import sessionmaker

from matchmaker.app import create_app
from matchmaker.config import Settings
from matchmaker.db.session import make_engine


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_when_the_database_is_unreachable(settings: Settings) -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    app = create_app(settings, session_factory=sessionmaker(bind=engine))
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"

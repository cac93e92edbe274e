import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

FAKE_API_KEY = "test_api_key_0123456789abcdef0123456789abcdef"
FAKE_PASSWORD = "not-a-real-password"


@pytest.fixture
def client():
    from app import app

    app.config["TESTING"] = True
    app.config["API_KEY"] = FAKE_API_KEY
    with app.test_client() as c:
        yield c


@pytest.fixture
def credentials():
    return {"email": "alice@example.com", "password": FAKE_PASSWORD}

import pickle

from legacy_latin1 import format_price


def test_format_price():
    assert format_price(1234) == "12,34 EUR"
    assert format_price(5) == "0,05 EUR"


def test_greet_default(client):
    resp = client.get("/greet")
    assert resp.status_code == 200
    assert b"Hello guest" in resp.data


def test_calc(client):
    resp = client.get("/calc?expr=2*21")
    assert resp.data == b"42"


def test_restore_cart_roundtrip(client):
    body = pickle.dumps({"sku": "TSHIRT-M", "qty": 2})
    resp = client.post("/cart/restore", data=body)
    assert resp.get_json() == {"sku": "TSHIRT-M", "qty": 2}


def test_signup_requires_password(client, credentials):
    assert credentials["password"] == "not-a-real-password"
    resp = client.post("/signup", data={"email": credentials["email"]})
    assert resp.status_code == 400

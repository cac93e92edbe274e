# Test targets for policies/semgrep/python.yaml (semgrep --test format).
# Each "ruleid" annotation marks the next line as a required finding,
# each "ok" annotation marks the next line as a required non-finding.
import hashlib
import marshal
import os
import pickle
import random
import secrets
import shlex
import socket
import ssl
import subprocess
import xml.sax

import aiohttp_jinja2
import jinja2
import jwt
import requests
import yaml
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from Crypto.Cipher import AES, DES
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from flask import Flask, Markup, redirect, render_template, render_template_string, request, send_file, url_for
from lxml import etree
from markupsafe import escape
from werkzeug.utils import secure_filename

app = Flask(__name__)
BASE_DIR = "/srv/files"
TEMPLATE = "<p>{{ name }}</p>"


# ---------------------------------------------------------------- SQL injection
def sql_fstring(conn, user_id, table):
    cur = conn.cursor()
    # ruleid: python-sql-injection-fstring
    cur.execute(f"SELECT * FROM users WHERE id = {user_id}")
    # ruleid: python-sql-injection-fstring
    query = f"DELETE FROM {table} WHERE id = {user_id}"
    cur.execute(query)
    # ok: python-sql-injection-fstring
    cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    # ok: python-sql-injection-fstring
    cur.execute(f"SELECT count(*) FROM users")


def sql_string_building(conn, name, order):
    cur = conn.cursor()
    # ruleid: python-sql-injection-string-building
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    # ruleid: python-sql-injection-string-building
    cur.execute("SELECT * FROM users WHERE name = '{}'".format(name))
    # ruleid: python-sql-injection-string-building
    cur.execute("SELECT * FROM users ORDER BY " + order)
    # ruleid: python-sql-injection-string-building
    stmt = "UPDATE users SET name = '%s'" % name
    cur.execute(stmt)
    # ok: python-sql-injection-string-building
    cur.execute("SELECT * FROM users WHERE name = %s", (name,))
    # ok: python-sql-injection-string-building
    cur.execute("SELECT * FROM users " + "WHERE active = 1")
    # ok: python-sql-injection-string-building
    log.execute("processing %s" % name)


# ---------------------------------------------------------- command injection
def run_commands(host, filename):
    # ruleid: python-subprocess-shell-true
    subprocess.run("ping -c 1 " + host, shell=True)
    # ruleid: python-subprocess-shell-true
    subprocess.check_output(f"tar xf {filename}", shell=True)
    # ruleid: python-subprocess-shell-true
    subprocess.getoutput("ls " + filename)
    # ok: python-subprocess-shell-true
    subprocess.run(["ping", "-c", "1", host], check=True)
    # ok: python-subprocess-shell-true
    subprocess.run("uptime", shell=True)

    # ruleid: python-os-system-injection
    os.system("rm -rf /tmp/" + filename)
    # ruleid: python-os-system-injection
    out = os.popen(f"cat {filename}").read()
    # ok: python-os-system-injection
    os.system("sync")
    return out


# -------------------------------------------------------------- code injection
def evaluate(expr, code):
    # ruleid: python-eval-exec-dynamic
    value = eval(expr)
    # ruleid: python-eval-exec-dynamic
    exec(code, {})
    # ok: python-eval-exec-dynamic
    fixed = eval("1 + 2")
    return value, fixed


# ---------------------------------------------------------- template injection
@app.route("/hello")
def hello():
    name = request.args.get("name", "")
    # ruleid: python-flask-render-template-string
    page = render_template_string("<h1>Hello " + name + "</h1>")
    # ok: python-flask-render-template-string
    page2 = render_template_string("<h1>Hello {{ name }}</h1>", name=name)
    # ok: python-flask-render-template-string
    page3 = render_template("hello.html", name=name)
    return page + page2 + page3


# ruleid: python-jinja2-autoescape-disabled
env_plain = jinja2.Environment(loader=jinja2.FileSystemLoader("templates"))
# ruleid: python-jinja2-autoescape-disabled
env_off = jinja2.Environment(loader=jinja2.FileSystemLoader("templates"), autoescape=False)
# ok: python-jinja2-autoescape-disabled
env_safe = jinja2.Environment(loader=jinja2.FileSystemLoader("templates"), autoescape=jinja2.select_autoescape(["html"]))
# ok: python-jinja2-autoescape-disabled
env_on = jinja2.Environment(autoescape=True)


# --------------------------------------------------------- deserialization
def load_blobs(blob, stream, path):
    # ruleid: python-pickle-deserialization
    obj = pickle.loads(blob)
    # ruleid: python-pickle-deserialization
    code = marshal.load(stream)
    # ok: python-pickle-deserialization
    data = pickle.dumps(obj)

    # ruleid: python-yaml-unsafe-load
    cfg = yaml.load(stream)
    # ruleid: python-yaml-unsafe-load
    cfg2 = yaml.load(stream, Loader=yaml.Loader)
    # ruleid: python-yaml-unsafe-load
    cfg3 = yaml.unsafe_load(stream)
    # ok: python-yaml-unsafe-load
    cfg4 = yaml.safe_load(stream)
    # ok: python-yaml-unsafe-load
    cfg5 = yaml.load(stream, Loader=yaml.SafeLoader)
    return obj, code, data, cfg, cfg2, cfg3, cfg4, cfg5


# ---------------------------------------------------------------- weak crypto
def hashing(password, payload):
    # ruleid: python-weak-hash
    digest = hashlib.md5(password.encode()).hexdigest()
    # ruleid: python-weak-hash
    h = hashlib.new("sha1", payload)
    # ruleid: python-weak-hash
    legacy = hashes.Hash(hashes.SHA1())
    # ok: python-weak-hash
    etag = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    # ok: python-weak-hash
    strong = hashlib.sha256(payload).hexdigest()
    return digest, h, legacy, etag, strong


def encrypt(key, iv, data):
    # ruleid: python-weak-cipher
    c1 = DES.new(key, DES.MODE_CBC, iv)
    # ruleid: python-weak-cipher
    c2 = AES.new(key, AES.MODE_ECB)
    # ruleid: python-weak-cipher
    c3 = Cipher(algorithms.AES(key), modes.ECB())
    # ok: python-weak-cipher
    c4 = AES.new(key, AES.MODE_GCM)
    # ok: python-weak-cipher
    c5 = Cipher(algorithms.AES(key), modes.GCM(iv))
    return c1, c2, c3, c4, c5


def make_reset_token():
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    # ruleid: python-insecure-random-secret
    return "".join(random.choice(alphabet) for _ in range(32))


def misc_values():
    # ruleid: python-insecure-random-secret
    session_id = random.getrandbits(128)
    # ok: python-insecure-random-secret
    api_key = secrets.token_urlsafe(32)
    # ok: python-insecure-random-secret
    delay = random.uniform(0.5, 1.5)
    return session_id, api_key, delay


# ---------------------------------------------------------- TLS verification
def fetch(url):
    # ruleid: python-requests-verify-disabled
    r1 = requests.get(url, timeout=5, verify=False)
    session = requests.Session()
    # ruleid: python-requests-verify-disabled
    session.verify = False
    # ok: python-requests-verify-disabled
    r2 = requests.get(url, timeout=5, verify="/etc/ssl/certs/internal-ca.pem")
    # ok: python-requests-verify-disabled
    r3 = session.get(url, timeout=5)
    return r1, r2, r3


def contexts():
    # ruleid: python-ssl-unverified-context
    ctx = ssl._create_unverified_context()
    strict = ssl.create_default_context()
    # ruleid: python-ssl-unverified-context
    strict.check_hostname = False
    # ruleid: python-ssl-unverified-context
    strict.verify_mode = ssl.CERT_NONE
    # ok: python-ssl-unverified-context
    good = ssl.create_default_context(cafile="/etc/ssl/certs/internal-ca.pem")
    # ok: python-ssl-unverified-context
    good.verify_mode = ssl.CERT_REQUIRED
    return ctx, strict, good


# ---------------------------------------------------------------- debug modes
# ruleid: python-django-debug-true
DEBUG = True

if os.environ.get("LOCAL_DEV") == "1":
    # ok: python-django-debug-true
    DEBUG = True


# ------------------------------------------------------------- path traversal
@app.route("/download")
def download():
    name = request.args.get("file")
    # ruleid: python-path-traversal-request
    with open(os.path.join(BASE_DIR, name)) as fh:
        content = fh.read()
    # ruleid: python-path-traversal-request
    resp = send_file(request.args["path"])
    # ok: python-path-traversal-request
    with open(os.path.join(BASE_DIR, secure_filename(name))) as fh:
        content += fh.read()
    # ok: python-path-traversal-request
    with open(os.path.join(BASE_DIR, "index.txt")) as fh:
        content += fh.read()
    return content, resp


# ----------------------------------------------------------------------- SSRF
@app.route("/proxy", methods=["POST"])
def proxy():
    target = request.form["url"]
    # ruleid: python-ssrf-request-url
    upstream = requests.get(target, timeout=5)
    # ok: python-ssrf-request-url
    item = requests.get(f"https://catalog.internal.example.com/items/{request.args.get('id')}", timeout=5)
    # ruleid: python-ssrf-request-url
    hook = requests.post("https://" + request.args.get("host") + "/hook", timeout=5)
    # ok: python-ssrf-request-url
    status = requests.get("https://status.internal.example.com/health", timeout=5, params={"q": target})
    return upstream.text + item.text + hook.text + status.text


# -------------------------------------------------------------- open redirect
@app.route("/login", methods=["POST"])
def login():
    nxt = request.args.get("next")
    if nxt == "home":
        # ok: python-open-redirect
        return redirect(url_for("home", ref=nxt))
    # ruleid: python-open-redirect
    return redirect(nxt)


def django_login(request):
    target = request.GET.get("next", "/")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={"example.com"}):
        # ok: python-open-redirect
        return HttpResponseRedirect(target)
    # ruleid: python-open-redirect
    return HttpResponseRedirect(request.GET["fallback"])


# ------------------------------------------------------------------------ XSS
def render_bio(bio, name):
    # ruleid: python-xss-mark-safe
    html = mark_safe("<div>" + bio + "</div>")
    # ruleid: python-xss-mark-safe
    title = Markup(f"<b>{name}</b>")
    # ok: python-xss-mark-safe
    safe_title = Markup("<b>{}</b>").format(name)
    # ok: python-xss-mark-safe
    footer = mark_safe("<hr/>")
    # ok: python-xss-mark-safe
    escaped = Markup(escape(name))
    return html, title, safe_title, footer, escaped


# -------------------------------------------------------------------- secrets
# ruleid: python-hardcoded-secret
DB_PASSWORD = "s3cr3t-Pa55w0rd!"
# ruleid: python-hardcoded-secret
SECRET_KEY = "django-insecure-8f3k2l1m0n9b8v7c6x5z"
# ok: python-hardcoded-secret
API_TOKEN = os.environ.get("API_TOKEN", "")
# ok: python-hardcoded-secret
PASSWORD_RESET_URL = "/accounts/password/reset/"
# ok: python-hardcoded-secret
PASSWORD_PLACEHOLDER = "changeme"


def connect(client_factory):
    # ok: python-hardcoded-secret
    primary = client_factory(host="db.internal", password=DB_PASSWORD)
    # ruleid: python-hardcoded-secret
    return primary or client_factory(host="db.internal", password="Tr0ub4dor&3")


# ------------------------------------------------------------------------ XXE
def parse_xml(data):
    # ruleid: python-xxe-lxml-entities
    parser = etree.XMLParser(resolve_entities=True)
    # ok: python-xxe-lxml-entities
    safe_parser = etree.XMLParser(resolve_entities=False, no_network=True)
    sax = xml.sax.make_parser()
    # ruleid: python-xxe-lxml-entities
    sax.setFeature(xml.sax.handler.feature_external_ges, True)
    # ok: python-xxe-lxml-entities
    sax.setFeature(xml.sax.handler.feature_external_ges, False)
    return etree.fromstring(data, parser), safe_parser


# ------------------------------------------------------------ insecure cookie
@app.route("/session")
def set_session():
    resp = app.make_response("ok")
    # ruleid: python-insecure-cookie
    resp.set_cookie("sid", "abc123")
    # ruleid: python-insecure-cookie
    resp.set_cookie("sid", "abc123", secure=False, httponly=True)
    # ok: python-insecure-cookie
    resp.set_cookie("sid", "abc123", secure=True, httponly=True, samesite="Lax")
    return resp


# ruleid: python-insecure-cookie
SESSION_COOKIE_SECURE = False
# ok: python-insecure-cookie
SESSION_COOKIE_HTTPONLY = True


def serve_socket(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # ruleid: python-bind-all-interfaces
    sock.bind(("0.0.0.0", port))
    # ok: python-bind-all-interfaces
    sock.bind(("127.0.0.1", port))
    return sock


if __name__ == "__main__":
    # ruleid: python-flask-debug-enabled, python-bind-all-interfaces
    app.run(host="0.0.0.0", port=5000, debug=True)
    # ok: python-flask-debug-enabled, python-bind-all-interfaces
    app.run(host="127.0.0.1", port=5000, debug=os.environ.get("FLASK_DEBUG") == "1")


# ------------------------------------------------------------ credentials in URLs
# ruleid: python-credentials-in-url
DATABASE_URL = "postgresql://shop:S3cr3tPass@db.internal:5432/shop"
# ruleid: python-credentials-in-url
broker = connect("amqp://guest:hunter22@rabbit/")
# ok: python-credentials-in-url
DATABASE_URL_FROM_ENV = os.environ.get("DATABASE_URL", "postgresql://localhost/shop")
# ok: python-credentials-in-url
TEMPLATE_URL = "postgresql://${DB_USER}:${DB_PASSWORD}@db/shop"
# ok: python-credentials-in-url
built = f"postgresql://{user}:{password}@db/shop"
# ok: python-credentials-in-url
masked = "postgresql://shop:****@db/shop"


# ------------------------------------------------------------------------ JWT
def jwt_claims(token, key):
    # ruleid: python-jwt-verification-disabled
    unchecked = jwt.decode(token, options={"verify_signature": False})
    # ruleid: python-jwt-verification-disabled
    legacy = jwt.decode(token, verify=False)
    # ruleid: python-jwt-verification-disabled
    anything = jwt.decode(token, key, algorithms=["HS256", "none"])
    # ruleid: python-jwt-verification-disabled
    empty = jwt.decode(token, "", algorithms=["HS256"])
    # ok: python-jwt-verification-disabled
    claims = jwt.decode(token, key, algorithms=["HS256"])
    return unchecked, legacy, anything, empty, claims


# ------------------------------------------------------------------ autoescape off
def make_app(web_app):
    # ruleid: python-jinja2-autoescape-disabled
    aiohttp_jinja2.setup(web_app, loader=jinja2.PackageLoader("sqli", "templates"), autoescape=False)
    # ok: python-jinja2-autoescape-disabled
    aiohttp_jinja2.setup(web_app, loader=jinja2.PackageLoader("sqli", "templates"))


TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        # ruleid: python-django-autoescape-disabled
        "OPTIONS": {"autoescape": False, "context_processors": []},
    },
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # ok: python-django-autoescape-disabled
        "OPTIONS": {"context_processors": []},
    },
]

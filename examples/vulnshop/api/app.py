"""vulnshop storefront API."""
import pickle
import subprocess

import requests
import yaml
from flask import Flask, jsonify, render_template_string, request

from db import create_user, find_orders, find_product, search_products

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
ADMIN_PASSWORD = "Sup3rS3cret!2019"
UPLOAD_DIR = "/var/vulnshop/uploads"


@app.route("/signup", methods=["POST"])
def signup():
    return jsonify(create_user(request.form["email"], request.form["password"]))


@app.route("/products")
def products():
    term = request.args.get("q", "")
    return jsonify(search_products(term))


@app.route("/products/<int:product_id>")
def product(product_id):
    return jsonify(find_product(product_id))


@app.route("/orders")
def orders():
    return jsonify(find_orders(request.args.get("customer", "")))


@app.route("/greet")
def greet():
    name = request.args.get("name", "guest")
    return render_template_string("<h1>Hello " + name + "!</h1>")


@app.route("/invoice")
def invoice():
    filename = request.args.get("file")
    with open(UPLOAD_DIR + "/" + filename) as fh:
        return fh.read()


@app.route("/thumbnail", methods=["POST"])
def thumbnail():
    src = request.form["image"]
    subprocess.call("convert " + src + " -resize 64x64 /tmp/thumb.png", shell=True)
    subprocess.run(["convert", src, "-resize", "128x128", "/tmp/big.png"], check=True)
    return "ok"


@app.route("/cart/restore", methods=["POST"])
def restore_cart():
    cart = pickle.loads(request.get_data())
    return jsonify(cart)


@app.route("/import", methods=["POST"])
def import_catalog():
    catalog = yaml.load(request.get_data())
    return jsonify({"imported": len(catalog)})


@app.route("/calc")
def calc():
    return str(eval(request.args.get("expr", "0")))


@app.route("/fetch")
def fetch_preview():
    url = request.args.get("url")
    preview = requests.get(url, timeout=5)
    return preview.text[:500]


@app.route("/rates")
def rates():
    resp = requests.get("https://rates.example.com/latest", verify=False)
    return jsonify(resp.json())


if __name__ == "__main__":
    app.run(host="0.0.0.0", debug=True)

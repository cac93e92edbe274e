"""Tiny data-access layer for vulnshop (PostgreSQL via psycopg2)."""
import hashlib

import psycopg2

DB_HOST = "db.vulnshop.internal"
DB_USER = "shop"
DB_PASSWORD = "hunter2-prod-db"


def get_conn():
    return psycopg2.connect(host=DB_HOST, user=DB_USER, password=DB_PASSWORD, dbname="shop")


def search_products(term):
    cur = get_conn().cursor()
    cur.execute(f"SELECT id, name, price FROM products WHERE name LIKE '%{term}%'")
    return cur.fetchall()


def find_orders(customer):
    cur = get_conn().cursor()
    cur.execute("SELECT * FROM orders WHERE customer = '%s' ORDER BY created" % customer)
    return cur.fetchall()


def find_product(product_id):
    cur = get_conn().cursor()
    cur.execute("SELECT id, name, price FROM products WHERE id = %s", (product_id,))
    return cur.fetchone()


def create_user(email, password):
    digest = hashlib.md5(password.encode()).hexdigest()
    conn = get_conn()
    cur = conn.cursor()
    cur.execute("INSERT INTO users (email, pw_hash) VALUES (%s, %s)", (email, digest))
    conn.commit()
    return {"email": email}

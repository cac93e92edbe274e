// vulnshop storefront web frontend
const express = require("express");
const https = require("https");
const crypto = require("crypto");
const { exec, execFile } = require("child_process");
const mysql = require("mysql");

const app = express();
const GITHUB_TOKEN = "ghp_R8x2Lq9Vt4Zp7Nw3Ky6Bm1Hc5Jd0Fg8Sa2Ue";
const db = mysql.createConnection({ host: "localhost", user: "shop", database: "shop" });

app.use(express.static("public"));

app.get("/search", (req, res) => {
  res.send("<h2>Results for " + req.query.q + "</h2>");
});

app.get("/api/products", (req, res) => {
  const sql = "SELECT * FROM products WHERE category = '" + req.query.category + "'";
  db.query(sql, (err, rows) => res.json(rows));
});

app.get("/api/orders/:id", (req, res) => {
  db.query(`SELECT * FROM orders WHERE id = ${req.params.id}`, (err, rows) => res.json(rows));
});

app.get("/api/reviews", (req, res) => {
  db.query("SELECT * FROM reviews WHERE product_id = ?", [req.query.product], (err, rows) => res.json(rows));
});

app.get("/api/discount", (req, res) => {
  const total = eval(req.query.formula);
  res.json({ total });
});

app.get("/admin/ping", (req, res) => {
  exec("ping -c 1 " + req.query.host, (err, stdout) => res.type("text").send(stdout));
});

app.get("/admin/uptime", (req, res) => {
  execFile("uptime", [], (err, stdout) => res.type("text").send(stdout));
});

app.get("/avatar", (req, res) => {
  const id = crypto.createHash("md5").update(req.query.email || "").digest("hex");
  res.redirect("https://gravatar.example.com/avatar/" + id);
});

app.get("/api/stars", (req, res) => {
  const agent = new https.Agent({ rejectUnauthorized: false });
  https.get({ host: "api.github.com", path: "/repos/vulnshop/shop", agent,
    headers: { Authorization: "token " + GITHUB_TOKEN, "User-Agent": "vulnshop" } },
    (r) => r.pipe(res));
});

app.listen(3000, () => console.log("vulnshop web on :3000"));

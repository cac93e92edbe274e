// Test targets for policies/semgrep/javascript.yaml (semgrep --test format).
// "ruleid" marks the next line as a required finding, "ok" as a required non-finding.
'use strict';

const child_process = require('child_process');
const { execFile } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const https = require('https');
const axios = require('axios');
const express = require('express');
const session = require('express-session');
const errorhandler = require('errorhandler');
const escapeHtml = require('escape-html');
const libxmljs = require('libxmljs');
const serialize = require('node-serialize');
const yaml = require('js-yaml');
const jwt = require('jsonwebtoken');
const React = require('react');
const DOMPurify = require('dompurify');

const app = express();
const BASE_DIR = '/srv/files';

// ---------------------------------------------------------------- SQL injection
async function findUser(db, pool, id, name, sort) {
  // ruleid: javascript-sql-injection-template-literal
  const rows = await db.query(`SELECT * FROM users WHERE id = ${id}`);
  // ruleid: javascript-sql-injection-template-literal
  const sql = `DELETE FROM sessions WHERE user = '${name}'`;
  await pool.execute(sql);
  // ok: javascript-sql-injection-template-literal
  const safe = await db.query('SELECT * FROM users WHERE id = $1', [id]);
  // ok: javascript-sql-injection-template-literal
  const profile = await axios.get(`https://api.example.com/users/${id}`);

  // ruleid: javascript-sql-injection-concat
  const more = await db.query("SELECT * FROM users WHERE name = '" + name + "'");
  // ruleid: javascript-sql-injection-concat
  const q = "SELECT id FROM users ORDER BY " + sort;
  await db.all(q);
  // ok: javascript-sql-injection-concat
  const ok2 = await db.query('SELECT * FROM users WHERE name = ?', [name]);
  // ok: javascript-sql-injection-concat
  const cached = await cache.get('user:' + name);
  return [rows, safe, profile, more, ok2, cached];
}

// ---------------------------------------------------------- command injection
function runCommands(host, file) {
  // ruleid: javascript-child-process-injection
  child_process.exec('ping -c 1 ' + host, (err, out) => console.log(out));
  // ruleid: javascript-child-process-injection
  child_process.execSync(`tar xzf ${file}`);
  // ruleid: javascript-child-process-injection
  child_process.spawn(`convert ${file} out.png`, [], { shell: true });
  // ok: javascript-child-process-injection
  execFile('ping', ['-c', '1', host], (err, out) => console.log(out));
  // ok: javascript-child-process-injection
  child_process.exec('uptime', (err, out) => console.log(out));
  // ok: javascript-child-process-injection
  child_process.spawn('convert', [file, 'out.png']);
}

// -------------------------------------------------------------- code injection
function evaluate(expr, body) {
  // ruleid: javascript-eval-dynamic
  const value = eval(expr);
  // ruleid: javascript-eval-dynamic
  const fn = new Function('a', 'b', body);
  // ruleid: javascript-eval-dynamic
  setTimeout('refresh(' + expr + ')', 100);
  // ok: javascript-eval-dynamic
  const parsed = JSON.parse(expr);
  // ok: javascript-eval-dynamic
  setTimeout(() => console.log(value), 100);
  // ok: javascript-eval-dynamic
  const add = new Function('a', 'b', 'return a + b');
  return [value, fn, parsed, add];
}

function sandbox(code) {
  // ruleid: javascript-vm-code-injection
  const result = vm.runInNewContext(code, { x: 1 });
  // ruleid: javascript-vm-code-injection
  const script = new vm.Script(`(function () { ${code} })()`);
  // ok: javascript-vm-code-injection
  const two = vm.runInNewContext('1 + 1', {});
  return [result, script, two];
}

// --------------------------------------------------------- deserialization
function restore(blob, text) {
  // ruleid: javascript-insecure-deserialization
  const obj = serialize.unserialize(blob);
  // ruleid: javascript-insecure-deserialization
  const doc = yaml.load(text, { schema: yaml.DEFAULT_FULL_SCHEMA });
  // ok: javascript-insecure-deserialization
  const data = JSON.parse(blob);
  // ok: javascript-insecure-deserialization
  const cfg = yaml.load(text);
  return [obj, doc, data, cfg];
}

// ---------------------------------------------------------------- weak crypto
function digests(password, payload) {
  // ruleid: javascript-weak-hash
  const h1 = crypto.createHash('md5').update(password).digest('hex');
  // ruleid: javascript-weak-hash
  const h2 = crypto.createHash('sha1').update(payload).digest('hex');
  // ok: javascript-weak-hash
  const h3 = crypto.createHash('sha256').update(payload).digest('hex');
  return [h1, h2, h3];
}

function ciphers(key, iv, data) {
  // ruleid: javascript-weak-cipher
  const c1 = crypto.createCipheriv('des-ede3-cbc', key, iv);
  // ruleid: javascript-weak-cipher
  const c2 = crypto.createCipheriv('aes-128-ecb', key, null);
  // ruleid: javascript-weak-cipher
  const c3 = crypto.createCipher('aes192', key);
  // ok: javascript-weak-cipher
  const c4 = crypto.createCipheriv('aes-256-gcm', key, iv);
  return [c1, c2, c3, c4, data];
}

function generateResetToken() {
  // ruleid: javascript-insecure-random-token
  return Math.random().toString(36).slice(2);
}

function ids() {
  // ruleid: javascript-insecure-random-token
  const sessionId = Math.floor(Math.random() * 1e16).toString(16);
  // ok: javascript-insecure-random-token
  const apiKey = crypto.randomBytes(32).toString('hex');
  // ok: javascript-insecure-random-token
  const jitter = Math.random() * 250;
  return [sessionId, apiKey, jitter];
}

// ---------------------------------------------------------- TLS verification
// ruleid: javascript-tls-verification-disabled
const insecureAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
// ok: javascript-tls-verification-disabled
const strictAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: true });
// ruleid: javascript-tls-verification-disabled
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
// ok: javascript-tls-verification-disabled
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '1';

// ------------------------------------------------------------------ debug mode
// ruleid: javascript-express-errorhandler-in-production
app.use(errorhandler());

if (process.env.NODE_ENV === 'development') {
  // ok: javascript-express-errorhandler-in-production
  app.use(errorhandler({ log: true }));
}

// ------------------------------------------------------------------------- XSS
function renderComment(el, comment, title) {
  // ruleid: javascript-dom-xss-sink
  el.innerHTML = comment.body;
  // ruleid: javascript-dom-xss-sink
  el.innerHTML = `<h2>${title}</h2>`;
  // ruleid: javascript-dom-xss-sink
  document.write('<p>' + comment.author + '</p>');
  // ok: javascript-dom-xss-sink
  el.innerHTML = DOMPurify.sanitize(comment.body);
  // ok: javascript-dom-xss-sink
  el.innerHTML = '';
  // ok: javascript-dom-xss-sink
  el.textContent = comment.body;
}

function Bio(props) {
  return React.createElement('section', null,
    // ruleid: javascript-react-dangerously-set-inner-html
    React.createElement('div', { className: 'bio', dangerouslySetInnerHTML: { __html: props.bio } }),
    // ok: javascript-react-dangerously-set-inner-html
    React.createElement('div', { dangerouslySetInnerHTML: { __html: DOMPurify.sanitize(props.bio) } }),
    // ok: javascript-react-dangerously-set-inner-html
    React.createElement('div', { dangerouslySetInnerHTML: { __html: '<hr/>' } }));
}

app.get('/hello', (req, res) => {
  const name = req.query.name;
  if (!name) {
    // ok: javascript-express-reflected-xss
    return res.send('<h1>Hello stranger</h1>');
  }
  if (name === 'admin') {
    // ok: javascript-express-reflected-xss
    return res.send('<h1>Hello ' + escapeHtml(name) + '</h1>');
  }
  // ruleid: javascript-express-reflected-xss
  return res.send('<h1>Hello ' + name + '</h1>');
});

// ------------------------------------------------------------- path traversal
app.get('/files', (req, res) => {
  const file = req.query.file;
  // ruleid: javascript-path-traversal
  const data = fs.readFileSync(path.join(BASE_DIR, file));
  // ok: javascript-path-traversal
  const safe = fs.readFileSync(path.join(BASE_DIR, path.basename(file)));
  // ok: javascript-path-traversal
  res.sendFile(file, { root: BASE_DIR });
  console.log(data.length, safe.length);
});

app.get('/download/:name', (req, res) => {
  // ruleid: javascript-path-traversal
  res.download(BASE_DIR + '/' + req.params.name);
});

// ----------------------------------------------------------------------- SSRF
app.post('/preview', async (req, res) => {
  const target = req.body.url;
  // ruleid: javascript-ssrf
  const page = await fetch(target);
  // ruleid: javascript-ssrf
  const meta = await axios.get(`${req.query.host}/meta`);
  // ok: javascript-ssrf
  const repo = await fetch(`https://api.github.com/repos/${req.query.repo}`);
  // ok: javascript-ssrf
  const status = await axios.get('https://status.example.com/api', { params: { q: target } });
  res.json({ page: page.status, meta: meta.data, repo: repo.status, status: status.data });
});

// -------------------------------------------------------------- open redirect
app.get('/login', (req, res) => {
  const next = req.query.next;
  if (next === undefined) {
    // ok: javascript-open-redirect
    return res.redirect('/home');
  }
  if (next === 'avatar') {
    // ok: javascript-open-redirect
    return res.redirect('https://gravatar.example.com/avatar/' + req.query.id);
  }
  if (next.startsWith('//')) {
    // ruleid: javascript-open-redirect
    return res.redirect('/' + next);
  }
  // ruleid: javascript-open-redirect
  return res.redirect(next);
});

// -------------------------------------------------------------------- secrets
// ruleid: javascript-hardcoded-secret
const dbPassword = 'Sup3r-S3cret-Pw!';
// ruleid: javascript-hardcoded-secret
const config = { host: 'db.internal', apiKey: 'AKIAEXAMPLE1234567890' };
// ok: javascript-hardcoded-secret
const stripeSecret = process.env.STRIPE_SECRET;
// ok: javascript-hardcoded-secret
const passwordResetUrl = '/account/password/reset';
// ok: javascript-hardcoded-secret
const tokenizer = 'bert-base-uncased';

// ------------------------------------------------------------------------ XXE
function parseUpload(xml) {
  // ruleid: javascript-xxe-libxml-noent
  const doc = libxmljs.parseXml(xml, { noent: true });
  // ok: javascript-xxe-libxml-noent
  const safeDoc = libxmljs.parseXml(xml, { noent: false, nonet: true });
  return [doc, safeDoc];
}

// ------------------------------------------------------------ insecure cookie
app.use(
  // ruleid: javascript-insecure-cookie
  session({ secret: process.env.SESSION_SECRET, cookie: { secure: false, httpOnly: true } }),
);

app.get('/prefs', (req, res) => {
  // ruleid: javascript-insecure-cookie
  res.cookie('sid', req.sessionID, { httpOnly: false, secure: true });
  // ruleid: javascript-insecure-cookie
  res.cookie('sid', req.sessionID);
  // ok: javascript-insecure-cookie
  res.cookie('sid', req.sessionID, { httpOnly: true, secure: true, sameSite: 'lax' });
  res.end();
});

module.exports = {
  findUser, runCommands, evaluate, sandbox, restore, digests, ciphers, generateResetToken, ids,
  insecureAgent, strictAgent, renderComment, Bio, dbPassword, config, stripeSecret, passwordResetUrl,
  tokenizer, parseUpload,
};

// ------------------------------------------------------------ credentials in URLs
// ruleid: javascript-credentials-in-url
const mongoUrl = 'mongodb://admin:Sup3rSecret@mongo:27017/shop';
// ok: javascript-credentials-in-url
const mongoUrlFromEnv = process.env.MONGO_URL || 'mongodb://localhost:27017/shop';
// ok: javascript-credentials-in-url
const templated = 'mongodb://${MONGO_USER}:${MONGO_PASSWORD}@mongo/shop';

// ------------------------------------------------------------------------ JWT
function claimsOf(token, secret) {
  // ruleid: javascript-jwt-verification-disabled
  const anything = jwt.verify(token, secret, { algorithms: ['HS256', 'none'] });
  // ruleid: javascript-jwt-verification-disabled
  const unsigned = jwt.verify(token, '');
  // ruleid: javascript-jwt-verification-disabled
  const missing = jwt.verify(token, undefined, { algorithms: ['none'] });
  // ok: javascript-jwt-verification-disabled
  const claims = jwt.verify(token, secret, { algorithms: ['HS256'] });
  return [anything, unsigned, missing, claims];
}

// TypeScript-specific test targets for policies/semgrep/javascript.yaml (semgrep --test format).
// Checks that the JS rules still match through type annotations, `as` casts and typed handlers.
import express, { Request, Response } from 'express';
import { execFile, execSync } from 'child_process';
import * as crypto from 'crypto';

const app = express();

// ruleid: javascript-hardcoded-secret
const dbPassword: string = 'Sup3r-S3cret-Pw!';
// ok: javascript-hardcoded-secret
const apiKey: string | undefined = process.env.API_KEY;

interface UserRow {
  id: number;
  name: string;
}

class UserRepository {
  constructor(private readonly db: { query<T>(sql: string, params?: unknown[]): Promise<T[]> }) {}

  async byName(name: string): Promise<UserRow[]> {
    // ruleid: javascript-sql-injection-template-literal
    return this.db.query<UserRow>(`SELECT id, name FROM users WHERE name = '${name}'`);
  }

  async byId(id: number): Promise<UserRow[]> {
    // ok: javascript-sql-injection-template-literal
    return this.db.query<UserRow>('SELECT id, name FROM users WHERE id = $1', [id]);
  }
}

app.get('/greet', (req: Request, res: Response): void => {
  const name = req.query.name as string;
  // ruleid: javascript-express-reflected-xss
  res.send(`<h1>Hello ${name}</h1>`);
});

app.get('/json', (req: Request, res: Response): void => {
  // ok: javascript-express-reflected-xss
  res.json({ greeting: `Hello ${req.query.name as string}` });
});

app.post('/convert', (req: Request, res: Response): void => {
  const file = req.body.file as string;
  // ruleid: javascript-child-process-injection
  execSync(`convert ${file} out.png`);
  // ok: javascript-child-process-injection
  execFile('convert', [file, 'out.png'], () => res.end());
});

function newSessionToken(): string {
  // ruleid: javascript-insecure-random-token
  return Math.random().toString(36).substring(2);
}

function newCsrfToken(): string {
  // ok: javascript-insecure-random-token
  return crypto.randomBytes(32).toString('hex');
}

export { app, dbPassword, apiKey, UserRepository, newSessionToken, newCsrfToken };

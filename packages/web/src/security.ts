// The dashboard's guards. A local web server is reachable by every page the user's browser opens, so:
//   - a random token, printed at start-up, must accompany every request that starts work or writes
//     (a custom header: a cross-site page cannot send one without a CORS preflight, which is never granted);
//   - on a loopback address the Host header must name this server (a DNS-rebinding page cannot read it);
//   - paths coming from a request are relative, '..'-free, and stay inside a configured folder after
//     symbolic links are resolved.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';

export const TOKEN_HEADER = 'x-robusta-token';
export const CLIENT_HEADER = 'x-robusta-client';

/** 192 random bits, URL-safe. */
export function makeToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time comparison (the length of the token is not a secret). */
export function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given), b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of a request: the X-Robusta-Token header or an Authorization: Bearer header. */
export function requestToken(header: (name: string) => string | undefined): string | undefined {
  const direct = header(TOKEN_HEADER);
  if (direct) return direct;
  const auth = header('authorization');
  const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  return m ? m[1] : undefined;
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Whether a Host header may reach a server bound to bindHost:port. On loopback only loopback names
 * with the right port pass (DNS rebinding gives a foreign name); a server bound elsewhere on purpose
 * accepts any name and relies on the token.
 */
export function hostAllowed(hostHeader: string | undefined, bindHost: string, port: number): boolean {
  if (!isLoopbackHost(bindHost)) return true;
  if (!hostHeader) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim().toLowerCase());
  if (!m) return false;
  const name = m[1]!, p = m[2] === undefined ? 80 : Number(m[2]);
  return isLoopbackHost(name) && p === port;
}

/** A request path that would leave its folder, or is not a plain relative path. */
export class PathEscapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathEscapeError';
  }
}

/**
 * root/relative, refused unless `relative` is a non-empty relative path without '..' or '.' segments,
 * NUL or backslashes, and the result (symbolic links resolved when it exists) lies inside root.
 */
export function resolveInside(root: string, relative: string): string {
  if (typeof relative !== 'string' || relative === '' || relative.length > 1024) throw new PathEscapeError('a relative path is required');
  if (relative.includes('\0') || relative.includes('\\')) throw new PathEscapeError('the path holds a forbidden character');
  if (isAbsolute(relative) || /^[a-zA-Z]:/.test(relative)) throw new PathEscapeError('absolute paths are refused');
  const parts = relative.split('/');
  if (parts.some((p) => p === '..' || p === '.')) throw new PathEscapeError(`'..' and '.' segments are refused`);
  const base = realRoot(root);
  const target = resolve(base, ...parts.filter((p) => p !== ''));
  const real = existsSync(target) ? realpathSync(target) : target;
  if (!isInside(base, real)) throw new PathEscapeError('the path leaves its folder');
  return real;
}

/** Whether path (absolute, links resolved) is root or lies below it. */
export function isInside(root: string, path: string): boolean {
  const base = realRoot(root);
  return path === base || path.startsWith(base.endsWith(sep) ? base : base + sep);
}

function realRoot(root: string): string {
  const abs = resolve(root);
  return existsSync(abs) ? realpathSync(abs) : abs;
}

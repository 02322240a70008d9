// SPDX-License-Identifier: GPL-3.0-or-later
// Test-only OAuth 2.0 client-credentials identity provider plus a tiny
// protected API, both over HTTPS on 127.0.0.1.  It emulates the OneLogin
// client-credentials contract closely enough for integration tests:
// every access token is an RS256 JWT that the API verifies locally.
//
// Environment: OIDC_PORT (default 0), API_PORT (default 0),
// TLS_CERT and TLS_KEY (PEM file paths, required); TLS_CA, the CA that signs mutual-TLS
// client certificates, and CLIENT_JWKS, the public keys of the private_key_jwt client (both required).
// Once both servers listen, exactly one JSON line goes to stdout:
//   {"issuer": ..., "token_url": ..., "api_url": ...}
// Everything else (diagnostics) goes to stderr.

import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { fileURLToPath } from 'node:url';

import * as jose from 'jose';

// stdout carries only the ready line; route library chatter to stderr.
console.log = console.error;
console.info = console.error;

// oidc-provider warns at import time that Node 20 is not a supported
// runtime.  It works fine for this purpose, so drop just that warning.
const loadProvider = async () => {
  const { warn } = console;
  console.warn = (...args) => {
    if (!String(args[0]).includes('Unsupported runtime')) warn(...args);
  };
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
  }
};
const { default: Provider, errors } = await loadProvider();

const HOST = '127.0.0.1';
const DEFAULT_RESOURCE = 'https://api.test/';
const RESOURCE_SCOPE = 'read write admin';
const DEFAULT_TTL = 600;
const TOKEN_PATH = '/token';

function fail(message) {
  process.stderr.write(`server.mjs: ${message}\n`);
  process.exit(2);
}

function parsePort(name) {
  const raw = process.env[name] ?? '0';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`${name} is not a port: ${raw}`);
  return port;
}

function readPem(name) {
  const file = process.env[name];
  if (!file) fail(`${name} (PEM file path) is required`);
  try {
    return readFileSync(file);
  } catch (err) {
    return fail(`cannot read ${name} ${file}: ${err.message}`);
  }
}

const oidcPort = parsePort('OIDC_PORT');
const apiPort = parsePort('API_PORT');
const tls = { cert: readPem('TLS_CERT'), key: readPem('TLS_KEY') };
// Clients may present a certificate (tls_client_auth); whether it verified is decided per request, below.
const oidcTls = { ...tls, ca: readPem('TLS_CA'), requestCert: true, rejectUnauthorized: false };
const clientJwks = JSON.parse(readPem('CLIENT_JWKS'));

const clientsFile = fileURLToPath(new URL('./clients.json', import.meta.url));
const clients = Object.values(JSON.parse(readFileSync(clientsFile, 'utf8')));
const ttlByClient = new Map(
  clients.map((c) => [c.client_id, c.access_token_ttl ?? DEFAULT_TTL]),
);

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

const listen = (server, port) => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, HOST, () => {
    server.off('error', reject);
    resolve(server.address().port);
  });
});

// Bind first: the issuer must carry the real (possibly ephemeral) port.
const oidcServer = https.createServer(oidcTls);
const apiServer = https.createServer(tls);
const issuer = `https://${HOST}:${await listen(oidcServer, oidcPort)}`;

// Fresh signing keys per run: nothing secret ever lands on disk, and a restart rotates them.
const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingJwk = {
  ...(await jose.exportJWK(privateKey)),
  alg: 'RS256',
  use: 'sig',
  kid: randomBytes(8).toString('hex'),
};
const ecKeys = await jose.generateKeyPair('ES256', { extractable: true });
const ecSigningJwk = {
  ...(await jose.exportJWK(ecKeys.privateKey)),
  alg: 'ES256',
  use: 'sig',
  kid: randomBytes(8).toString('hex'),
};
// Resources other than the protected API's: tokens signed ES256, and tokens that expire within seconds.
const ES256_RESOURCE = 'https://api-es.test/';
const SHORT_RESOURCE = 'https://api-short.test/';
const SHORT_TTL = 1;

// Minimal in-memory adapter; avoids the library's "development-only
// adapter" warning.  JWT access tokens are stateless, so little lands here.
const store = new Map();
class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
    store.set(this.key(id), { payload, expiresAt });
  }

  async find(id) {
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid() {
    return undefined;
  }

  async findByUserCode() {
    return undefined;
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const [key, entry] of store) {
      if (entry.payload.grantId === grantId) store.delete(key);
    }
  }
}

function peerCertificate(ctx) {
  const peer = ctx.socket.getPeerCertificate?.();
  return peer?.raw ? new X509Certificate(peer.raw) : undefined;
}

const clientTtl = (ctx, token, client) => token.resourceServer?.accessTokenTTL
  ?? ttlByClient.get(client?.clientId) ?? DEFAULT_TTL;

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  clients: clients.map((c) => ({
    client_id: c.client_id,
    client_secret: c.client_secret,
    token_endpoint_auth_method: c.token_endpoint_auth_method,
    ...(c.jwks === 'CLIENT_JWKS' ? { jwks: clientJwks } : {}),
    ...(c.tls_client_auth_subject_dn ? { tls_client_auth_subject_dn: c.tls_client_auth_subject_dn } : {}),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    ...(c.scope ? { scope: c.scope } : {}),
  })),
  jwks: { keys: [signingJwk, ecSigningJwk] },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth'],
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // Scopes must be declared for the per-client scope allow-list to apply.
  scopes: ['openid', 'offline_access', ...RESOURCE_SCOPE.split(' ')],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    mTLS: {
      enabled: true,
      tlsClientAuth: true,
      getCertificate: (ctx) => peerCertificate(ctx)?.toString(),
      certificateAuthorized: (ctx) => ctx.socket.authorized === true,
      certificateSubjectMatches: (ctx, property, expected) => property === 'tls_client_auth_subject_dn'
        && peerCertificate(ctx)?.subject === expected,
    },
    resourceIndicators: {
      enabled: true,
      // No resource named: still mint a JWT for the test API.
      defaultResource: async (ctx, client, oneOf) => oneOf ?? DEFAULT_RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource, client) => {
        if (!resource.startsWith('https://')) {
          throw new errors.InvalidTarget('resource indicator must be an https URI');
        }
        return {
          scope: RESOURCE_SCOPE,
          audience: resource,
          accessTokenTTL: resource === SHORT_RESOURCE ? SHORT_TTL : ttlByClient.get(client?.clientId) ?? DEFAULT_TTL,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: resource === ES256_RESOURCE ? 'ES256' : 'RS256' } },
        };
      },
    },
  },
  ttl: { AccessToken: clientTtl, ClientCredentials: clientTtl },
});

// oidc-provider accepts client_secret_basic and client_secret_post
// interchangeably for any secret-based client.  OneLogin does not, and
// tests need to prove the right method was used, so enforce it here.
provider.use(async (ctx, next) => {
  await next();
  const { oidc } = ctx;
  if (oidc?.route !== 'token' || ctx.status !== 200 || !oidc.client) return;
  const registered = oidc.client.clientAuthMethod;
  if (registered !== 'client_secret_basic' && registered !== 'client_secret_post') return;
  let used = 'none';
  if (oidc.params?.client_secret) used = 'client_secret_post';
  else if (/^basic /i.test(ctx.get('authorization'))) used = 'client_secret_basic';
  if (used !== registered) {
    ctx.status = 401;
    ctx.body = {
      error: 'invalid_client',
      error_description: 'client authentication failed',
    };
  }
});

// Every access token issued since the last reset, so leak tests can search for each exact string.
const issuedTokens = [];
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body?.access_token) issuedTokens.push(ctx.body.access_token);
});

// One token request of a client, armed by /_test/fail-next, is answered with an error status after the provider did
// its work (a client assertion's jti is then used up, the token issued), as a gateway that fails on the way back would.
const failNext = new Map();
provider.use(async (ctx, next) => {
  await next();
  const clientId = ctx.oidc?.client?.clientId;
  if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || !failNext.has(clientId)) return;
  ctx.status = failNext.get(clientId);
  failNext.delete(clientId);
  ctx.body = { error: 'temporarily_unavailable', error_description: 'failure injected by the test' };
});

const providerCallback = provider.callback();
let tokenRequests = 0;

oidcServer.on('request', (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  if (pathname === '/_test/stats' && req.method === 'GET') {
    sendJson(res, 200, { token_requests: tokenRequests });
    return;
  }
  if (pathname === '/_test/issued' && req.method === 'GET') {
    sendJson(res, 200, { access_tokens: issuedTokens });
    return;
  }
  if (pathname === '/_test/fail-next' && req.method === 'POST') {
    const query = new URL(req.url, issuer).searchParams;
    failNext.set(query.get('client_id'), Number(query.get('status')));
    sendJson(res, 200, { armed: query.get('client_id') });
    return;
  }
  if (pathname === '/_test/reset' && req.method === 'POST') {
    tokenRequests = 0;
    issuedTokens.length = 0;
    failNext.clear();
    sendJson(res, 200, { token_requests: tokenRequests });
    return;
  }
  // Single-threaded event loop: the increment is exact under concurrency.
  if (pathname === TOKEN_PATH && req.method === 'POST') tokenRequests += 1;
  providerCallback(req, res);
});

// --- protected API ----------------------------------------------------

let apiCalls = 0;
let apiRejected = 0;

function reject(res, description) {
  apiRejected += 1;
  sendJson(
    res,
    401,
    { error: 'invalid_token', error_description: description },
    { 'www-authenticate': 'Bearer error="invalid_token"' },
  );
}

async function whoami(req, res) {
  apiCalls += 1;
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(req.headers.authorization ?? '');
  if (!match) {
    reject(res, 'missing or malformed bearer token');
    return;
  }
  try {
    const { payload } = await jose.jwtVerify(match[1], publicKey, {
      algorithms: ['RS256'],
      issuer,
      audience: DEFAULT_RESOURCE,
      typ: 'at+jwt',
      requiredClaims: ['exp'],
      clockTolerance: 0,
    });
    sendJson(res, 200, {
      client_id: payload.client_id,
      scope: payload.scope,
      aud: payload.aud,
      exp: payload.exp,
    });
  } catch (err) {
    reject(res, err.code === 'ERR_JWT_EXPIRED' ? 'token expired' : `token rejected: ${err.message}`);
  }
}

apiServer.on('request', (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  if (pathname === '/whoami' && req.method === 'GET') {
    whoami(req, res).catch((err) => sendJson(res, 500, { error: 'server_error', error_description: err.message }));
    return;
  }
  if (pathname === '/_test/stats' && req.method === 'GET') {
    sendJson(res, 200, { calls: apiCalls, rejected: apiRejected });
    return;
  }
  if (pathname === '/_test/reset' && req.method === 'POST') {
    apiCalls = 0;
    apiRejected = 0;
    sendJson(res, 200, { calls: apiCalls, rejected: apiRejected });
    return;
  }
  sendJson(res, 404, { error: 'not_found' });
});

const apiUrl = `https://${HOST}:${await listen(apiServer, apiPort)}/whoami`;

process.stdout.write(`${JSON.stringify({
  issuer,
  token_url: `${issuer}${TOKEN_PATH}`,
  api_url: apiUrl,
})}\n`);

function shutdown() {
  for (const server of [oidcServer, apiServer]) {
    server.close();
    server.closeAllConnections();
  }
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

// SPDX-License-Identifier: GPL-3.0-or-later
// Test-only OAuth 2.0 client-credentials identity provider plus a tiny
// protected API, both over HTTPS on 127.0.0.1.  It emulates the OneLogin
// client-credentials contract closely enough for integration tests:
// every access token is an RS256 JWT that the API verifies locally.
// DPoP (RFC 9449) too: the provider binds a token to the key of a DPoP proof
// (always after a nonce challenge), and the API checks that key's proof per request.
//
// Environment: OIDC_PORT (default 0), API_PORT (default 0),
// TLS_CERT and TLS_KEY (PEM file paths, required); TLS_CA, the CA that signs mutual-TLS
// client certificates, and CLIENT_JWKS, the public keys of the private_key_jwt client (both required).
// Once both servers listen, exactly one JSON line goes to stdout:
//   {"issuer": ..., "token_url": ..., "api_url": ...}
// Everything else (diagnostics) goes to stderr.

import { createHash, randomBytes, X509Certificate } from 'node:crypto';
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
// The DPoP proof algorithms both the provider and the API accept (RFC 9449 section 5.1).
const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA'];

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
    ...(c.dpop_bound_access_tokens ? { dpop_bound_access_tokens: true } : {}),
  })),
  jwks: { keys: [signingJwk, ecSigningJwk] },
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth'],
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // Scopes must be declared for the per-client scope allow-list to apply.
  scopes: ['openid', 'offline_access', ...RESOURCE_SCOPE.split(' ')],
  enabledJWA: { dPoPSigningAlgValues: DPOP_ALGORITHMS },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // Every DPoP token request must carry a nonce of this run, so clients are tested on the use_dpop_nonce retry.
    // Requests without a DPoP header never reach requireNonce: Bearer clients are unaffected.
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
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

// Every access token issued since the last reset, so leak tests can search for each exact string; and every client
// assertion the token endpoint received, accepted or not, so tests see which one a request sent.
const issuedTokens = [];
const receivedAssertions = [];
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route !== 'token') return;
  if (ctx.status === 200 && ctx.body?.access_token) issuedTokens.push(ctx.body.access_token);
  if (typeof ctx.oidc.params?.client_assertion === 'string') receivedAssertions.push(ctx.oidc.params.client_assertion);
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

// Token requests answered use_dpop_nonce: a DPoP client makes one per nonce it has not seen yet.
let dpopNonceChallenges = 0;
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route === 'token' && ctx.body?.error === 'use_dpop_nonce') dpopNonceChallenges += 1;
});

const providerCallback = provider.callback();
let tokenRequests = 0;
// Every DPoP proof sent to the token endpoint or the API since the last reset, so leak tests can search for each.
const receivedProofs = [];

oidcServer.on('request', (req, res) => {
  const { pathname } = new URL(req.url, issuer);
  if (pathname === '/_test/stats' && req.method === 'GET') {
    sendJson(res, 200, { token_requests: tokenRequests, dpop_nonce_challenges: dpopNonceChallenges });
    return;
  }
  if (pathname === '/_test/issued' && req.method === 'GET') {
    sendJson(res, 200, { access_tokens: issuedTokens, dpop_proofs: receivedProofs, client_assertions: receivedAssertions });
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
    dpopNonceChallenges = 0;
    issuedTokens.length = 0;
    receivedProofs.length = 0;
    receivedAssertions.length = 0;
    failNext.clear();
    sendJson(res, 200, { token_requests: tokenRequests, dpop_nonce_challenges: dpopNonceChallenges });
    return;
  }
  // Single-threaded event loop: the increment is exact under concurrency.
  if (pathname === TOKEN_PATH && req.method === 'POST') tokenRequests += 1;
  if (req.headers.dpop) receivedProofs.push(req.headers.dpop);
  providerCallback(req, res);
});

// --- protected API ----------------------------------------------------
// A resource server as RFC 6750 and RFC 9449 describe one: it verifies every access token itself, and for a
// DPoP-bound token (cnf.jkt) a proof of possession of that key, made for this very request.

const apiOrigin = `https://${HOST}:${await listen(apiServer, apiPort)}`;
const PROOF_MAX_AGE = 60;
// JWK members that only a private or symmetric key has: a proof carrying one leaked its key.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const ECHO_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'];
const AUTHORIZATION_PATTERN = /^(Bearer|DPoP) ([A-Za-z0-9._~+/=-]+)$/i;

const apiStats = { calls: 0, rejected: 0, dpop_calls: 0, nonce_challenges: 0 };
// Proof jti values are never forgotten, not even by /_test/reset: a replayed proof is refused for the whole run.
const usedProofIds = new Set();
const revokedTokens = new Set();
const newNonce = () => randomBytes(16).toString('base64url');
// Different from the provider's nonces, so a client that mixes up the two fails.
let apiNonce = newNonce();

// Why a request was refused, as the WWW-Authenticate challenge and the JSON body state it.
class Refusal extends Error {
  constructor(scheme, error, description, headers = {}) {
    super(description);
    Object.assign(this, { scheme, error, headers });
  }
}

const refusedProof = (description) => new Refusal('DPoP', 'invalid_dpop_proof', description);

function refuse(res, { scheme, error, message, headers }) {
  apiStats.rejected += 1;
  if (error === 'use_dpop_nonce') apiStats.nonce_challenges += 1;
  // RFC 6750 section 3: no double quote or backslash inside a quoted error_description.
  const params = [`error="${error}"`, `error_description="${message.replace(/["\\]/g, "'")}"`];
  if (scheme === 'DPoP') params.push(`algs="${DPOP_ALGORITHMS.join(' ')}"`);
  sendJson(res, 401, { error, error_description: message }, { 'www-authenticate': `${scheme} ${params.join(', ')}`, ...headers });
}

async function verifyAccessToken(token, scheme) {
  try {
    const { payload } = await jose.jwtVerify(token, publicKey, {
      algorithms: ['RS256'],
      issuer,
      audience: DEFAULT_RESOURCE,
      typ: 'at+jwt',
      requiredClaims: ['exp'],
      clockTolerance: 0,
    });
    return payload;
  } catch (err) {
    throw new Refusal(scheme, 'invalid_token', err.code === 'ERR_JWT_EXPIRED' ? 'token expired' : `token rejected: ${err.message}`);
  }
}

function decodeProofHeader(proof) {
  try {
    return jose.decodeProtectedHeader(proof);
  } catch {
    throw refusedProof('the DPoP header is not a JWS');
  }
}

function checkHtu(htu, expected) {
  let url;
  try {
    url = new URL(htu);
  } catch {
    throw refusedProof(`htu ${htu} is not a URL`);
  }
  // RFC 9449 section 4.2: htu is sent without query and fragment; a client that keeps them has a bug worth showing.
  if (url.search || url.hash) throw refusedProof(`htu ${htu} carries a query or fragment`);
  if (url.href !== expected) throw refusedProof(`htu ${htu} is not ${expected}`);
}

// Checks the request's DPoP proof against the request and the access token; returns the proof key's thumbprint.
async function verifyProof(req, pathname, accessToken, requireNonce) {
  const proof = req.headers.dpop;
  if (!proof) throw refusedProof('no DPoP header');
  receivedProofs.push(proof);
  const header = decodeProofHeader(proof);
  if (header.typ !== 'dpop+jwt') throw refusedProof(`typ ${header.typ} is not dpop+jwt`);
  if (!DPOP_ALGORITHMS.includes(header.alg)) throw refusedProof(`alg ${header.alg} is not one of ${DPOP_ALGORITHMS.join(' ')}`);
  if (typeof header.jwk !== 'object' || header.jwk === null) throw refusedProof('no jwk in the proof header');
  const privateMembers = PRIVATE_JWK_MEMBERS.filter((member) => member in header.jwk);
  if (privateMembers.length) throw refusedProof(`the proof jwk has private key members: ${privateMembers.join(' ')}`);
  let payload;
  try {
    ({ payload } = await jose.jwtVerify(proof, jose.EmbeddedJWK, { algorithms: DPOP_ALGORITHMS }));
  } catch (err) {
    throw refusedProof(`proof signature or claims: ${err.message}`);
  }
  if (typeof payload.jti !== 'string' || !payload.jti) throw refusedProof('jti is missing');
  // A signed proof is used up once seen, whatever else is wrong with it.
  if (usedProofIds.has(payload.jti)) throw refusedProof(`jti ${payload.jti} was used before (replayed proof)`);
  usedProofIds.add(payload.jti);
  if (payload.htm !== req.method) throw refusedProof(`htm ${payload.htm} is not the request method ${req.method}`);
  // The URL the client called, by its Host header: the certificate also names localhost.
  checkHtu(payload.htu, new URL(pathname, req.headers.host ? `https://${req.headers.host}` : apiOrigin).href);
  if (payload.ath !== createHash('sha256').update(accessToken).digest('base64url')) {
    throw refusedProof('ath is not the SHA-256 of the access token');
  }
  if (typeof payload.iat !== 'number' || Math.abs(Date.now() / 1000 - payload.iat) > PROOF_MAX_AGE) {
    throw refusedProof(`iat ${payload.iat} is not within ${PROOF_MAX_AGE} s of now`);
  }
  if (requireNonce && payload.nonce !== apiNonce) {
    const problem = payload.nonce === undefined ? 'this endpoint requires a DPoP nonce' : 'stale or unknown DPoP nonce';
    throw new Refusal('DPoP', 'use_dpop_nonce', problem, { 'dpop-nonce': apiNonce });
  }
  return jose.calculateJwkThumbprint(header.jwk);
}

// Who is calling, by the token and (for DPoP) its proof; throws a Refusal naming the failed check.
async function authenticate(req, pathname, { requireNonce = false } = {}) {
  const match = AUTHORIZATION_PATTERN.exec(req.headers.authorization ?? '');
  if (!match) throw new Refusal('Bearer', 'invalid_token', 'missing or malformed bearer token');
  const [, presentedScheme, token] = match;
  const usesDpop = presentedScheme.toLowerCase() === 'dpop';
  const claims = await verifyAccessToken(token, usesDpop ? 'DPoP' : 'Bearer');
  const jkt = claims.cnf?.jkt;
  const scheme = usesDpop || jkt ? 'DPoP' : 'Bearer';
  if (revokedTokens.has(token)) throw new Refusal(scheme, 'invalid_token', 'token revoked');
  if (!usesDpop) {
    if (jkt) throw new Refusal('DPoP', 'invalid_token', 'a DPoP-bound token (cnf.jkt) was presented as a Bearer token');
    return { claims, token_type: 'Bearer' };
  }
  if (!jkt) throw new Refusal('DPoP', 'invalid_token', 'the token is not DPoP-bound (no cnf.jkt)');
  const thumbprint = await verifyProof(req, pathname, token, requireNonce);
  if (thumbprint !== jkt) throw refusedProof(`the proof key (thumbprint ${thumbprint}) is not the key the token is bound to (cnf.jkt ${jkt})`);
  apiStats.dpop_calls += 1;
  return { claims, token_type: 'DPoP', jkt };
}

const readBody = async (req) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
};

function whoami({ res, caller: { claims, token_type: tokenType, jkt } }) {
  sendJson(res, 200, {
    client_id: claims.client_id,
    scope: claims.scope,
    aud: claims.aud,
    exp: claims.exp,
    token_type: tokenType,
    ...(jkt ? { jkt } : {}),
  });
}

// Answers what it was sent, with the status ?status= asks for, so a client's handling of any answer can be tested.
async function echo({ req, res, url }) {
  const status = Number(url.searchParams.get('status') ?? 200);
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    sendJson(res, 400, { error: 'invalid_request', error_description: 'status must be an HTTP status from 200 to 599' });
    return;
  }
  const queryStart = req.url.indexOf('?');
  sendJson(res, status, {
    method: req.method,
    path: url.pathname,
    query: queryStart < 0 ? '' : req.url.slice(queryStart + 1),
    content_type: req.headers['content-type'] ?? null,
    body: await readBody(req),
  });
}

const protectedEndpoints = new Map([
  ['/whoami', { methods: ['GET'], answer: whoami }],
  ['/nonce/whoami', { methods: ['GET'], answer: whoami, requireNonce: true }],
  ['/echo', { methods: ECHO_METHODS, answer: echo }],
]);

async function callProtected(req, res, url, { answer, requireNonce }) {
  apiStats.calls += 1;
  let caller;
  try {
    caller = await authenticate(req, url.pathname, { requireNonce });
  } catch (err) {
    if (!(err instanceof Refusal)) throw err;
    refuse(res, err);
    return;
  }
  await answer({ req, res, url, caller });
}

function alwaysRefuse(req, res) {
  apiStats.calls += 1;
  const scheme = /^DPoP /i.test(req.headers.authorization ?? '') ? 'DPoP' : 'Bearer';
  refuse(res, new Refusal(scheme, 'invalid_token', 'the test API refuses every token'));
}

function resetApi() {
  Object.keys(apiStats).forEach((counter) => { apiStats[counter] = 0; });
  revokedTokens.clear();
  apiNonce = newNonce();
}

apiServer.on('request', (req, res) => {
  const url = new URL(req.url, apiOrigin);
  const endpoint = protectedEndpoints.get(url.pathname);
  if (endpoint?.methods.includes(req.method)) {
    callProtected(req, res, url, endpoint).catch((err) => sendJson(res, 500, { error: 'server_error', error_description: err.message }));
    return;
  }
  if (url.pathname === '/always-401') {
    alwaysRefuse(req, res);
    return;
  }
  if (url.pathname === '/_test/stats' && req.method === 'GET') {
    sendJson(res, 200, apiStats);
    return;
  }
  if (url.pathname === '/_test/reset' && req.method === 'POST') {
    resetApi();
    sendJson(res, 200, apiStats);
    return;
  }
  if (url.pathname === '/_test/revoke' && req.method === 'POST') {
    issuedTokens.forEach((token) => revokedTokens.add(token));
    sendJson(res, 200, { revoked: revokedTokens.size });
    return;
  }
  sendJson(res, 404, { error: 'not_found' });
});

const apiUrl = `${apiOrigin}/whoami`;

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

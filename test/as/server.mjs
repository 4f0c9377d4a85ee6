// mod_auth_bearer's test authorization server: the real npm oidc-provider (pinned in
// package.json / package-lock.json, installed by scripts/install-deps with `npm ci`), started on
// loopback by test/t/lib/MAB/OIDCProvider.pm, which documents what it issues and answers.
//
//   node server.mjs <config.json>
//
// config.json (written by the Perl wrapper; every member optional but clients):
//   host        "127.0.0.1"
//   port        0 = any free port (the chosen one is reported in the ready file)
//   ready       path: written (atomically) with {"port":…,"issuer":…} once the server listens
//   clients     [client metadata as oidc-provider takes it: client_id, client_secret,
//               token_endpoint_auth_method, jwks, scope, tls_client_auth_subject_dn, …]
//   resources   { "<resource indicator>": { scope: "a b", format: "opaque"|"jwt",
//               ttl: <s>, audience: "<aud>" (default: the indicator), alg: "RS256" } }
//   ttl         default access token lifetime in seconds (300)
//   dpop        true: features.dPoP (RFC 9449)
//   registration  true: features.registration (RFC 7591 dynamic client registration at
//               /reg, open: no initial access token), for clients that register themselves
//   tls         { cert, key, ca }: serve https, ask for client certificates (not required)
//               and enable features.mTLS (tls_client_auth, self_signed_tls_client_auth,
//               certificate-bound access tokens, RFC 8705); ca verifies tls_client_auth
//               certificates
//
// Besides oidc-provider's own routes it answers, for the test only:
//   GET  /_mab/stats          {"paths":{"/token/introspection":{"count":n,"inflight":n,
//                             "max_inflight":n},…},"calls":[{"route":"introspection",
//                             "client_id":…,"auth":…,"status":200,"active":true,"t":…},…]}
//   GET  /.well-known/oauth-authorization-server   (RFC 8414) the discovery document, which
//                             oidc-provider 8 serves only as /.well-known/openid-configuration
//   POST /_mab/reset          zeroes the counters and the call list
//   POST /_mab/mode?path=/token/introspection&mode=ok|500|garbage|hang|slow<N>|close
//                             how that path answers from now on (ok: oidc-provider itself)
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const host = cfg.host || '127.0.0.1';
const tls = cfg.tls || null;
const ttl = cfg.ttl || 300;
const resources = cfg.resources || {};

// --- the listening socket first: the issuer URL needs the port --------------------------------
const server = tls
  ? https.createServer({
    cert: fs.readFileSync(tls.cert),
    key: fs.readFileSync(tls.key),
    ca: tls.ca ? fs.readFileSync(tls.ca) : undefined,
    requestCert: true, // asked for, never required: the client decides per request
    rejectUnauthorized: false, // an unverified certificate is still a certificate (self-signed)
  })
  : http.createServer();
server.keepAliveTimeout = 30000;
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(cfg.port || 0, host, resolve);
});
const { port } = server.address();
const issuer = `${tls ? 'https' : 'http'}://${host}:${port}`;

// --- signing keys: fresh per start ------------------------------------------------------------
function privateJwk(type, opts, extra) {
  const { privateKey } = crypto.generateKeyPairSync(type, opts);
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = crypto.createHash('sha256').update(JSON.stringify(jwk)).digest('base64url').slice(0, 16);
  return { ...jwk, ...extra, kid, use: 'sig' };
}
const jwks = {
  keys: [
    privateJwk('rsa', { modulusLength: 2048 }, { alg: 'RS256' }),
    privateJwk('ec', { namedCurve: 'P-256' }, { alg: 'ES256' }),
  ],
};

// --- client certificate helpers for features.mTLS ---------------------------------------------
function peerCertificate(ctx) {
  const sock = ctx.req.socket;
  if (!sock || typeof sock.getPeerX509Certificate !== 'function') return undefined;
  return sock.getPeerX509Certificate() || undefined;
}
// "CN=a\nO=b" (Node's listing) against an RFC 4514 string in either order, blanks ignored
function dnMatches(subject, expected) {
  const norm = (parts) => parts.map((p) => p.trim()).filter(Boolean).join(',');
  const got = subject.split('\n');
  const want = norm(expected.split(','));
  return norm(got) === want || norm([...got].reverse()) === want;
}

// every scope a resource or a client names is one the provider "supports": so a client's own
// scope metadata is valid and works as its allow-list (a scope beyond it: invalid_scope)
const scopes = new Set(['openid', 'offline_access']);
for (const rs of Object.values(resources)) (rs.scope || '').split(' ').filter(Boolean).forEach((x) => scopes.add(x));
for (const c of cfg.clients || []) (c.scope || '').split(' ').filter(Boolean).forEach((x) => scopes.add(x));

const configuration = {
  clients: cfg.clients || [],
  scopes: [...scopes],
  clientAuthMethods: [
    'client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt',
    'none', ...(tls ? ['tls_client_auth', 'self_signed_tls_client_auth'] : []),
  ],
  jwks,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP: { enabled: !!cfg.dpop },
    registration: { enabled: !!cfg.registration },
    mTLS: tls
      ? {
        enabled: true,
        certificateBoundAccessTokens: true,
        tlsClientAuth: true,
        selfSignedTlsClientAuth: true,
        getCertificate(ctx) {
          const c = peerCertificate(ctx);
          return c ? c.toString() : undefined;
        },
        certificateAuthorized(ctx) {
          return ctx.req.socket.authorized === true;
        },
        certificateSubjectMatches(ctx, property, expected) {
          const c = peerCertificate(ctx);
          if (!c) return false;
          switch (property) {
            case 'tls_client_auth_subject_dn':
              return dnMatches(c.subject, expected);
            case 'tls_client_auth_san_dns':
              return (c.subjectAltName || '').split(', ').includes(`DNS:${expected}`);
            case 'tls_client_auth_san_ip':
              return (c.subjectAltName || '').split(', ').includes(`IP Address:${expected}`);
            default:
              return false;
          }
        },
      }
      : { enabled: false },
    resourceIndicators: {
      enabled: true,
      // client credentials without a resource parameter: no resource, an opaque token without aud
      defaultResource: (ctx, client, oneOf) => (oneOf ? oneOf[0] : undefined),
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator) {
        const rs = resources[indicator];
        if (!rs) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
        const info = {
          scope: rs.scope || '',
          audience: rs.audience || indicator,
          accessTokenTTL: rs.ttl || ttl,
          accessTokenFormat: rs.format === 'jwt' ? 'jwt' : 'opaque',
        };
        if (info.accessTokenFormat === 'jwt') info.jwt = { sign: { alg: rs.alg || 'RS256' } };
        return info;
      },
    },
  },
  // a resource's own ttl, else the default (a number here would override the resource's)
  ttl: {
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || ttl,
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || ttl,
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', ctx.path, err));

// --- what the tests count: requests per path, concurrency, and one record per endpoint call ----
let stats = { paths: {}, calls: [] };
const modes = {};
provider.use(async (ctx, next) => {
  await next();
  const route = ctx.oidc && ctx.oidc.route;
  if (!route || route === 'discovery' || route === 'jwks') return;
  const { client } = ctx.oidc;
  stats.calls.push({
    route,
    path: ctx.path,
    client_id: client ? client.clientId : null,
    auth: client ? client.clientAuthMethod : null,
    status: ctx.status,
    active: route === 'introspection' && ctx.body && typeof ctx.body === 'object'
      ? ctx.body.active : undefined,
    t: Date.now() / 1000,
  });
});

const callback = provider.callback();

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  const path = url.pathname;
  if (path === '/_mab/stats') return send(res, 200, JSON.stringify(stats));
  if (path === '/_mab/reset' && req.method === 'POST') {
    stats = { paths: {}, calls: [] };
    return send(res, 200, '{}');
  }
  if (path === '/_mab/mode' && req.method === 'POST') {
    const p = url.searchParams.get('path');
    const m = url.searchParams.get('mode') || 'ok';
    if (!p || !/^(ok|500|garbage|hang|close|slow\d+(\.\d+)?)$/.test(m)) {
      return send(res, 400, '{"error":"bad mode"}');
    }
    if (m === 'ok') delete modes[p]; else modes[p] = m;
    return send(res, 200, '{}');
  }

  if (path === '/.well-known/oauth-authorization-server') {
    req.url = '/.well-known/openid-configuration' + url.search;
  }

  const s = stats.paths[path] || (stats.paths[path] = { count: 0, inflight: 0, max_inflight: 0 });
  s.count += 1;
  s.inflight += 1;
  if (s.inflight > s.max_inflight) s.max_inflight = s.inflight;
  let done = false;
  const finish = () => {
    if (!done) { done = true; s.inflight -= 1; }
  };
  res.on('finish', finish);
  res.on('close', finish);

  const mode = modes[path];
  if (!mode) return callback(req, res);
  if (mode.startsWith('slow')) { // oidc-provider's own answer, after N seconds
    return setTimeout(() => callback(req, res), Number(mode.slice(4)) * 1000);
  }
  req.resume(); // the body is not needed
  switch (mode) {
    case '500': return send(res, 500, '{"error":"server_error"}');
    case 'garbage': return send(res, 200, '<html>this is not JSON</html>', 'text/html');
    case 'close': return req.socket.destroy();
    default: // hang: never answers (the connection is dropped after 2 minutes)
      return setTimeout(() => req.socket.destroy(), 120000).unref();
  }
});

// --- ready ------------------------------------------------------------------------------------
if (cfg.ready) {
  fs.writeFileSync(`${cfg.ready}.tmp`, JSON.stringify({ port, issuer, pid: process.pid }));
  fs.renameSync(`${cfg.ready}.tmp`, cfg.ready);
}
console.log(`oidc-provider listening at ${issuer}`);

// never outlive the test that started us (setpriv --pdeathsig covers a killed parent too)
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => process.exit(0));
}

// mod_auth_bearer's end-to-end MCP client: the npm MCP SDK's own client and its OAuth support
// (RFC 9728 discovery, RFC 8414, RFC 7591 registration, client credentials, RFC 8707
// resource), started by test/t/mcp_e2e.t with nothing but the MCP server's URL:
//
//   node client.mjs <mcp url> [<tool to call>:<json args> …]
//
// Prints one JSON object: {"connected":…, "tools":[…], "calls":[{"name","ok","text"|"error"}],
// "error":…, "trace":[{"method","url","status","www_authenticate","mcp_method","mcp_name",
// "token"}]}. The fetch wrapper adds the 2026-07-28 revision's Mcp-Method / Mcp-Name request
// headers from each JSON-RPC body (SDK 1.x does not send them) and records every exchange.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import nodeCrypto from 'node:crypto';

// Node.js 18 has WebCrypto only as require('crypto').webcrypto
if (!globalThis.crypto) globalThis.crypto = nodeCrypto.webcrypto;

const url = new URL(process.argv[2]);
const wanted = process.argv.slice(3).map((a) => {
  const i = a.indexOf(':');
  return i < 0 ? { name: a, args: {} } : { name: a.slice(0, i), args: JSON.parse(a.slice(i + 1)) };
});
const trace = [];

async function tracingFetch(input, init = {}) {
  const headers = new Headers(init.headers || {});
  if (typeof init.body === 'string') {
    try {
      const msg = JSON.parse(init.body);
      if (msg && typeof msg.method === 'string') {
        headers.set('Mcp-Method', msg.method);
        if (msg.params && typeof msg.params.name === 'string') headers.set('Mcp-Name', msg.params.name);
      }
    } catch { /* not JSON-RPC */ }
  }
  const res = await fetch(input, { ...init, headers });
  trace.push({
    method: init.method || 'GET',
    url: String(input),
    status: res.status,
    www_authenticate: res.headers.get('www-authenticate'),
    mcp_method: headers.get('Mcp-Method'),
    mcp_name: headers.get('Mcp-Name'),
    token: /^bearer /i.test(headers.get('authorization') || ''),
  });
  return res;
}

// A machine-to-machine client: registers itself (RFC 7591) with the authorization server the
// resource metadata names, for the scopes the challenge asked for, then uses client credentials.
class RegisteringClientCredentials {
  get redirectUrl() { return undefined; }
  get clientMetadata() {
    return {
      client_name: 'mod_auth_bearer MCP test',
      redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    };
  }
  clientInformation() { return this.info; }
  saveClientInformation(info) { this.info = info; }
  tokens() { return this.saved; }
  saveTokens(t) { this.saved = t; }
  redirectToAuthorization() { throw new Error('no interactive authorization in this test'); }
  saveCodeVerifier() {}
  codeVerifier() { throw new Error('no authorization code flow in this test'); }
  prepareTokenRequest() {
    const p = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.info && this.info.scope) p.set('scope', this.info.scope);
    return p;
  }
}

const out = { connected: false, tools: [], calls: [], error: null, trace };
const provider = new RegisteringClientCredentials();
const client = new Client({ name: 'mab-e2e', version: '1.0.0' });
const transport = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: tracingFetch });
try {
  await client.connect(transport);
  out.connected = true;
  out.token_scope = provider.saved && provider.saved.scope;
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  for (const w of wanted) {
    try {
      const r = await client.callTool({ name: w.name, arguments: w.args });
      out.calls.push({ name: w.name, ok: !r.isError, text: (r.content || []).map((c) => c.text).join('\n') });
    } catch (e) {
      out.calls.push({ name: w.name, ok: false, error: String(e && e.message ? e.message : e) });
    }
  }
} catch (e) {
  out.error = String(e && e.message ? e.message : e);
}
try { await transport.close(); } catch { /* already closed */ }
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

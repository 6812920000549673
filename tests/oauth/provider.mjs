// tests/oauth/provider.mjs - the OAuth 2.0 / OpenID Connect provider of the
// OAuth tests (tests/oauth/run.sh): oidc-provider (npm, a certified
// OpenID Connect implementation) on loopback, with
//   - the client "postie" (public, native: device flow, authorization code
//     with PKCE and a loopback redirect, refresh tokens that rotate at every
//     use),
//   - the client "dovecot" (confidential) that the test Dovecot uses to ask
//     the introspection endpoint (RFC 7662) whether a token is active,
//   - short access token lifetimes (AT_TTL seconds) so a refresh happens
//     within a test,
//   - the development login and consent pages (any user name logs in: the
//     tests approve as the mailbox's address, which becomes the token's sub).
// Usage: node provider.mjs PORT [AT_TTL [no-rfc8414]]. Prints "provider ready ISSUER"
// once it listens. Nothing here is meant for anything but these tests.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const atTTL = Number(process.argv[3] || 5);
if (!Number.isInteger(port) || port < 1024 || port > 65535) {
  console.error('usage: node provider.mjs PORT [AT_TTL]');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'postie',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token',
        'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      // RFC 8252 sec. 7.3: any port of the loopback address
      redirect_uris: ['http://127.0.0.1/'],
    },
    {
      client_id: 'dovecot',
      client_secret: process.env.DOVECOT_CLIENT_SECRET || 'dovecot-introspection-secret',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ],
  scopes: ['openid', 'offline_access', 'mail'],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  ttl: {
    AccessToken: atTTL,
    AuthorizationCode: 120,
    DeviceCode: 600,
    Grant: 86400,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 86400,
    Session: 86400,
  },
  // a new refresh token at every refresh; the old one is spent (a reuse
  // revokes the grant, as real providers do)
  rotateRefreshToken: true,
  // a refresh token for every grant of a client allowed to refresh (the
  // default wants offline_access and, for the code flow, prompt=consent)
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  pkce: { required: () => true },
  cookies: { keys: ['postie-oauth-test-only'] },
});

// no proxy, plain http on loopback: tell koa not to expect https
provider.proxy = false;

// RFC 8414 metadata at its own well-known address as well (the same
// document as OpenID Connect discovery's), as providers that speak both
// publish it; the tool asks there first.
// With "no-rfc8414" (a third argument) it does not, like providers that
// publish only OpenID Connect discovery (Microsoft, Google).
const rfc8414 = process.argv[4] !== 'no-rfc8414';
provider.use(async (ctx, next) => {
  if (rfc8414 && ctx.path === '/.well-known/oauth-authorization-server') {
    ctx.path = '/.well-known/openid-configuration';
  }
  await next();
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`provider ready ${issuer}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

// A real OpenID provider for the single sign-on tests (tests/it/oidc): `oidc-provider` with its
// development login and consent pages, one confidential client, and accounts made up from the
// login name typed in (any password is accepted):
//   - `<name>` has the email `<name>@example.test`, verified;
//   - `unverified-<name>` has the email `unverified-<name>@example.test`, not verified.
// Listens on 127.0.0.1 on a free port, prints `{"issuer": "http://127.0.0.1:<port>"}` as its
// first line, and exits when its standard input closes (the test harness holding it ended).
//
// Settings (environment): MSB_OIDC_CLIENT_ID, MSB_OIDC_CLIENT_SECRET, MSB_OIDC_REDIRECT_URI.
import http from 'node:http';
import Provider from 'oidc-provider';

const clientId = process.env.MSB_OIDC_CLIENT_ID ?? 'msb';
const clientSecret = process.env.MSB_OIDC_CLIENT_SECRET;
const redirectUri = process.env.MSB_OIDC_REDIRECT_URI;
if (!clientSecret || !redirectUri) {
  console.error('MSB_OIDC_CLIENT_SECRET and MSB_OIDC_REDIRECT_URI are needed');
  process.exit(2);
}

function account(id) {
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: `${id}@example.test`,
        email_verified: !id.startsWith('unverified'),
        preferred_username: id,
        name: `Test ${id}`,
      };
    },
  };
}

let handle = (req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = http.createServer((req, res) => handle(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    pkce: { methods: ['S256'], required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['msb-test-provider-cookie-key'] },
    findAccount: async (ctx, id) => account(id),
  });
  // The development pages warn on every start; the tests read only the first line.
  provider.on('server_error', (ctx, error) => console.error('provider error:', error));
  handle = provider.callback();
  console.log(JSON.stringify({ issuer }));
  // The harness reads only that line and may close its end: anything later goes to stderr,
  // and a closed stdout is no crash.
  process.stdout.on('error', () => {});
  console.log = console.info = console.debug = console.error;
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));

// A real, certified OpenID Connect provider (oidc-provider) on loopback, for the federated sign-in tests.
//
//   node server.mjs PORT REDIRECT_URI        (or IDP_PORT / IDP_REDIRECT_URI in the environment)
//
// One confidential client (IDP_CLIENT_ID / IDP_CLIENT_SECRET, client_secret_basic, PKCE required), a few
// accounts with eduPersonAffiliation, and the provider's development interactions: a login form that takes any
// password for a known account, then a consent form. Prints "READY <issuer>" once it listens.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] ?? process.env.IDP_PORT ?? 0);
const redirectUri = process.argv[3] ?? process.env.IDP_REDIRECT_URI;
const clientId = process.env.IDP_CLIENT_ID ?? 'bibliomesh';
const clientSecret = process.env.IDP_CLIENT_SECRET ?? 'test-idp-client-secret';
if (!port || !redirectUri) {
  console.error('usage: node server.mjs PORT REDIRECT_URI');
  process.exit(2);
}

// Each university's directory: who is a student, who works there, who is merely affiliated.
const ACCOUNTS = {
  alice: { name: 'Alice Student', email: 'alice@uni.example', eduPersonAffiliation: ['student', 'member'] },
  bob: { name: 'Bob Staff', email: 'bob@uni.example', eduPersonAffiliation: ['staff', 'employee', 'member'] },
  carol: { name: 'Carol Guest', email: 'carol@uni.example', eduPersonAffiliation: ['affiliate'] },
  // One provider for the university and its branch campus: scoped affiliations say where each holds.
  dave: { name: 'Dave Branch', email: 'dave@uni.example', eduPersonAffiliation: ['staff', 'member'],
    eduPersonScopedAffiliation: ['staff@branch.uni.example', 'member@uni.example'] },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'profile', 'email', 'eduperson'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    eduperson: ['eduPersonAffiliation', 'eduPersonScopedAffiliation'],
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  async findAccount(_ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email_verified: true, ...account };
      },
    };
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

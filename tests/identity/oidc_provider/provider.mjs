// A real OpenID Connect provider (panva/oidc-provider) for tutela's SSO tests.
// Usage: node provider.mjs  (env: CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
// Prints "READY <issuer>" once listening on an ephemeral port of 127.0.0.1.
// Interactions are completed over plain HTTP, no browser: the test requests
//   GET /interaction/<uid>?user=alice&email=alice@example.com&groups=eng,sec&amr=pwd,otp&acr=...
// and the provider finishes the login with exactly those facts.
import http from "node:http";
import crypto from "node:crypto";
import Provider from "oidc-provider";

const accounts = new Map();
const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), kid: "test-key-1", use: "sig", alg: "RS256" };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString("hex")] },
  claims: { iss: null, sid: null, openid: ["sub", "acr", "amr", "auth_time"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
  conformIdTokenClaims: false,
  acrValues: ["urn:tutela:test:pwd", "urn:tutela:test:mfa"],
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: account.email, email_verified: true, name: id, groups: account.groups };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile groups");
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match || ctx.method !== "GET") return next();
  const q = ctx.query;
  const user = String(q.user || "alice");
  accounts.set(user, {
    email: String(q.email || `${user}@example.com`),
    groups: q.groups ? String(q.groups).split(",") : [],
  });
  const login = { accountId: user };
  if (q.amr) login.amr = String(q.amr).split(",");
  if (q.acr) login.acr = String(q.acr);
  await provider.interactionFinished(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false });
  ctx.respond = false;
});

server.on("request", provider.callback());
console.log(`READY ${issuer}`);

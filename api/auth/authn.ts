/**
 * Authentication on the secure port, as kube-apiserver does it: a static token file
 * (`--token-auth-file`, CSV token,user,uid,"group1,group2"), a basic-auth file
 * (`--basic-auth-file`, CSV password,user,uid,"groups"), and client certificates signed by the
 * client CA (CN = user, O = groups). Every authenticated user is also in system:authenticated.
 * Nothing here reads a request body: the actor of every event is who authenticated.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { timingSafeEqual } from 'node:crypto';
import type { Actor } from '../../core/events/envelope';

interface Identity {
  readonly user: string;
  readonly uid: string;
  readonly groups: readonly string[];
}

/** One CSV line: fields split on commas, double quotes around a field keep its commas. */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

/** Parses a token or basic-auth file: secret,user,uid[,"groups"] per line. Bad lines are errors naming the line. */
export function parseCredentialFile(text: string, what: string): Map<string, Identity> {
  const out = new Map<string, Identity>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const [secret, user, uid, groups] = csvFields(line);
    if (!secret || !user || uid === undefined) throw new Error(`${what} line ${i + 1}: expected at least three fields (secret,user,uid)`);
    out.set(secret, { user, uid, groups: groups ? groups.split(',').map((g) => g.trim()).filter(Boolean) : [] });
  });
  return out;
}

/** Which kind of actor a user name is, for the envelope (controllers and nodes have theirs). */
export function actorKindOf(user: string): Actor['kind'] {
  if (user.startsWith('system:node:')) return 'node';
  if (user.startsWith('system:controller:') || user === 'system:kube-scheduler' || user === 'system:kube-controller-manager') return 'controller';
  return 'user';
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export class Authenticator {
  private readonly basicByUser = new Map<string, { password: string; identity: Identity }>();

  constructor(
    private readonly tokens: ReadonlyMap<string, Identity> = new Map(),
    basic: ReadonlyMap<string, Identity> = new Map(),
  ) {
    for (const [password, identity] of basic) this.basicByUser.set(identity.user, { password, identity });
  }

  /** The authenticated actor, or undefined (401). A present but wrong credential never falls through to another. */
  authenticate(req: IncomingMessage): Actor | undefined {
    const header = req.headers.authorization;
    if (header) {
      const [scheme, value = ''] = header.split(/\s+/, 2);
      if (/^bearer$/i.test(scheme)) {
        const id = this.tokens.get(value.trim());
        return id ? actorOf(id, 'token') : undefined;
      }
      if (/^basic$/i.test(scheme)) {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon < 0) return undefined;
        const entry = this.basicByUser.get(decoded.slice(0, colon));
        return entry && same(entry.password, decoded.slice(colon + 1)) ? actorOf(entry.identity, 'basic') : undefined;
      }
      return undefined;
    }
    const socket = req.socket as TLSSocket;
    if (typeof socket.getPeerCertificate === 'function' && socket.authorized) {
      const cert = socket.getPeerCertificate();
      const cn = cert?.subject?.CN;
      if (typeof cn === 'string' && cn !== '') {
        const o = cert.subject.O as string | string[] | undefined;
        return actorOf({ user: cn, uid: '', groups: o === undefined ? [] : Array.isArray(o) ? o : [o] }, 'x509');
      }
    }
    return undefined;
  }
}

function actorOf(id: Identity, authMethod: string): Actor {
  const groups = [...new Set([...id.groups, 'system:authenticated'])];
  return { kind: actorKindOf(id.user), name: id.user, groups, authMethod };
}

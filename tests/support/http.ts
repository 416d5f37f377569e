/** A JSON call to a server under test, its URL read at call time (servers start in beforeAll). */
export function jsonCaller(url: () => string) {
  return async (method: string, p: string, body?: unknown, type = 'application/json') => {
    const r = await fetch(`${url()}${p}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': type } });
    return { status: r.status, body: JSON.parse(await r.text()) as any };
  };
}

/**
 * The HTTP ceiling of the create benchmark: an express server that parses the pod JSON and
 * answers it back (no validation, no store). Prints `READY <url> 0`, like server.child.
 */
import express from 'express';
import type { AddressInfo } from 'node:net';

const app = express();
app.use(express.raw({ type: () => true, limit: 3 * 1024 * 1024 }));
app.post(/.*/, (req, res) => {
  const o = JSON.parse((req.body as Buffer).toString('utf8')) as { metadata: Record<string, unknown> };
  o.metadata.uid = 'x';
  const text = JSON.stringify(o);
  res.statusCode = 201;
  res.setHeader('Content-Type', 'application/json');
  res.end(text);
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port} 0\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));

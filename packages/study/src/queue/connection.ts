// The Redis behind a study queue: its URL parsed into connection options, a redacted form of that
// URL for every message (credentials are never logged, stored or reported), and a start-up probe
// that fails within seconds instead of retrying forever as a BullMQ connection does.
import { isIP } from 'node:net';
import { Redis } from 'ioredis';
import { StudyError } from '../errors.js';

/** The BullMQ queue every study job goes through (jobs of all studies share it: ids are content hashes). */
export const STUDY_QUEUE_NAME = 'lenet-study';

/** How long the start-up probe waits for Redis before giving up, in milliseconds. */
export const QUEUE_CONNECT_TIMEOUT_MS = 5000;

/** Where and how to connect: what ioredis (and so BullMQ) takes, nothing more. */
export interface QueueConnectionOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** Set for `rediss://`: TLS, the server's name for its certificate when it is not an IP address. */
  tls?: { servername?: string };
}

/** A parsed queue URL: connection options for ioredis/BullMQ, and the URL safe to print. */
export interface QueueConnection {
  /** The URL with its password replaced by `***`: the only form of it that goes into messages. */
  readonly redacted: string;
  /** Host, port, user, password, database and TLS, as ioredis (and so BullMQ) takes them. */
  readonly options: QueueConnectionOptions;
  /** `text` with any occurrence of the password replaced by `***` (for errors from the driver). */
  scrub(text: string): string;
}

/**
 * `url` with its password (and anything that may be one, when the URL does not parse) replaced by
 * `***`, e.g. `redis://user:***@host:6379/2`. Use it for every log line and error that names a queue.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.href;
  } catch {
    // Not a URL: whatever comes before the last '@' (after a scheme) may be credentials.
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/i, '$1***@');
  }
}

function invalid(url: string, problem: string): never {
  throw new StudyError(
    'QUEUE_UNAVAILABLE',
    `invalid queue URL ${redactUrl(url)}: ${problem}; expected redis://[user:password@]host[:port][/db] or rediss://… for TLS`,
    { kind: 'input' },
  );
}

/**
 * Parses a `redis://` or `rediss://` (TLS) URL: `[user[:password]@]host[:port][/db]`, port 6379 and
 * database 0 by default. Throws a {@link StudyError} `QUEUE_UNAVAILABLE` of kind `input` naming the
 * (redacted) URL and what is wrong with it.
 */
export function parseQueueUrl(url: string): QueueConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    invalid(url, 'not a URL');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    invalid(url, `unsupported scheme '${parsed.protocol.replace(/:$/, '')}'`);
  // WHATWG URLs keep IPv6 hosts in brackets; sockets want them bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') invalid(url, 'no host');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  if (!(Number.isInteger(port) && port > 0)) invalid(url, `port ${parsed.port} is not usable`);
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) invalid(url, `database '${path}' is not a number`);
  if (parsed.search !== '' || parsed.hash !== '') invalid(url, 'query parameters are not supported');
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  const options: QueueConnectionOptions = {
    host,
    port,
    db: path === '' ? 0 : Number(path),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    // The server's certificate is checked against Node's CAs (add yours with NODE_EXTRA_CA_CERTS).
    ...(parsed.protocol === 'rediss:' ? { tls: isIP(host) ? {} : { servername: host } } : {}),
  };
  const secrets = [password, parsed.password].filter((s) => s.length > 0);
  return {
    redacted: redactUrl(url),
    options,
    scrub: (text) => secrets.reduce((t, secret) => t.split(secret).join('***'), text),
  };
}

/**
 * Connects once to the queue's Redis and sends PING, within `timeoutMs`, with no retries: a
 * {@link StudyError} `QUEUE_UNAVAILABLE` naming the redacted URL and the reason (refused, timed out,
 * wrong password…) when Redis cannot be used. Run before starting BullMQ, whose own connections
 * retry forever (right once running: Redis may restart under a long study).
 */
export async function probeQueue(
  connection: QueueConnection,
  timeoutMs: number = QUEUE_CONNECT_TIMEOUT_MS,
): Promise<void> {
  let lastError: Error | undefined;
  const client = new Redis({
    ...connection.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', (e: Error) => {
    lastError = e;
  });
  try {
    await client.connect();
    await client.ping();
    await client.quit();
  } catch (e) {
    // ioredis's disconnect arms a 2 s timer that holds the process even when the socket is gone.
    if (client.status !== 'end') client.disconnect();
    const reason = (lastError ?? (e as Error)).message;
    throw new StudyError(
      'QUEUE_UNAVAILABLE',
      `cannot reach the queue at ${connection.redacted}: ${connection.scrub(reason)}`,
    );
  }
}

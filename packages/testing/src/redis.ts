// Test helper: a private redis-server on a free loopback port, started for a suite and stopped
// after it; nothing saved to disk. When redis-server is not installed the queue suites are skipped,
// loudly. Not part of the package (excluded from dist).
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The install command named when redis-server is missing. */
export const REDIS_INSTALL = 'apt-get install redis-server';

/** The redis-server on PATH, if any. */
export function findRedisServer(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Whether the queue suite `suite` can run; warns loudly (naming the install command) when it cannot. */
export function redisAvailable(suite: string): boolean {
  if (findRedisServer()) return true;
  console.warn(
    `\n!!! SKIPPED: ${suite}: redis-server is not installed (not on PATH). Install it to run these tests: sudo ${REDIS_INSTALL}\n`,
  );
  return false;
}

/** A running redis-server. */
export interface RedisServer {
  port: number;
  /** `redis://[:password@]127.0.0.1:port`, or `rediss://localhost:port` with TLS. */
  url: string;
  /** Everything it printed (for a failing test's message). */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port for redis-server');
  return address.port;
}

/** How the test server is set up: a password (`--requirepass`), TLS only with this certificate. */
export interface RedisServerOptions {
  password?: string;
  tls?: { cert: string; key: string };
}

function launch(path: string, port: number, dir: string, options: RedisServerOptions): Promise<ChildProcess> {
  const args = options.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', options.tls.cert]
    : ['--port', String(port)];
  if (options.tls) args.push('--tls-key-file', options.tls.key, '--tls-ca-cert-file', options.tls.cert);
  if (options.tls) args.push('--tls-auth-clients', 'no');
  args.push('--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no');
  if (options.password !== undefined) args.push('--requirepass', options.password);
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within 10 s:\n${text}`));
    }, 10_000);
    const onData = (d: Buffer) => {
      text += d.toString();
      if (text.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited while starting (${signal ?? `code ${code}`}):\n${text}`));
    });
  });
}

/**
 * Starts redis-server on a free loopback port, with `--requirepass` when a password is given, and
 * speaking TLS only when a certificate is (its URL is then `rediss://localhost:port`).
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const path = findRedisServer();
  if (!path) throw new Error(`redis-server is not installed: ${REDIS_INSTALL}`);
  const dir = mkdtempSync(join(tmpdir(), 'lenet-redis-'));
  let lastError: unknown;
  // Another process may take the free port between the check and the bind: try again then.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const child = await launch(path, port, dir, options);
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      const kill = () => child.kill('SIGKILL');
      process.once('exit', kill);
      return {
        port,
        url: options.tls
          ? `rediss://localhost:${port}`
          : `redis://${options.password === undefined ? '' : `:${options.password}@`}127.0.0.1:${port}`,
        output: () => output,
        async stop() {
          process.off('exit', kill);
          if (child.exitCode === null && child.signalCode === null) {
            const gone = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGTERM');
            await gone;
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (e) {
      lastError = e;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

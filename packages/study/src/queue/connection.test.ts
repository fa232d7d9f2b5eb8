import { describe, expect, it } from 'vitest';
import { StudyError } from '../errors.js';
import { parseQueueUrl, redactUrl } from './connection.js';

describe('parseQueueUrl', () => {
  it('reads host, port and database, with the defaults', () => {
    expect(parseQueueUrl('redis://queue.local').options).toEqual({ host: 'queue.local', port: 6379, db: 0 });
    expect(parseQueueUrl('redis://10.0.0.5:6380/3').options).toEqual({ host: '10.0.0.5', port: 6380, db: 3 });
    expect(parseQueueUrl('redis://[::1]:7000').options).toEqual({ host: '::1', port: 7000, db: 0 });
  });

  it('reads user and password (percent-decoded) and hides the password', () => {
    const c = parseQueueUrl('redis://lenet:p%40ss%3Aword@redis.example.com:6379/1');
    expect(c.options).toEqual({
      host: 'redis.example.com',
      port: 6379,
      db: 1,
      username: 'lenet',
      password: 'p@ss:word',
    });
    expect(c.redacted).toBe('redis://lenet:***@redis.example.com:6379/1');
    expect(c.scrub('AUTH p@ss:word failed (p%40ss%3Aword)')).toBe('AUTH *** failed (***)');
    expect(parseQueueUrl('redis://:secret@h').options).toEqual({
      host: 'h',
      port: 6379,
      db: 0,
      password: 'secret',
    });
  });

  it('turns TLS on for rediss://, naming the server for its certificate', () => {
    expect(parseQueueUrl('rediss://:pw@cache.example.com:6380').options).toEqual({
      host: 'cache.example.com',
      port: 6380,
      db: 0,
      password: 'pw',
      tls: { servername: 'cache.example.com' },
    });
    expect(parseQueueUrl('rediss://127.0.0.1').options.tls).toEqual({});
  });

  it.each([
    ['http://u:secret@host', "invalid queue URL http://u:***@host/: unsupported scheme 'http'"],
    ['redis://', 'invalid queue URL redis://: no host'],
    ['redis://host/db1', "invalid queue URL redis://host/db1: database 'db1' is not a number"],
    [
      'redis://:secret@host?tls=true',
      'invalid queue URL redis://:***@host?tls=true: query parameters are not supported',
    ],
    ['not a url :secret@', 'invalid queue URL ***@: not a URL'],
    ['redis//:secret@host', 'invalid queue URL ***@host: not a URL'],
    ['redis://u:secret@host:99999', 'invalid queue URL redis://***@host:99999: not a URL'],
  ])('refuses %s as bad input', (url, message) => {
    let error: unknown;
    try {
      parseQueueUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StudyError);
    expect((error as StudyError).code).toBe('QUEUE_UNAVAILABLE');
    expect((error as StudyError).kind).toBe('input');
    expect((error as StudyError).message).toContain(message);
  });
});

describe('redactUrl', () => {
  it('hides the password and nothing else', () => {
    expect(redactUrl('redis://user:pw@host:1/2')).toBe('redis://user:***@host:1/2');
    expect(redactUrl('rediss://:pw@host')).toBe('rediss://:***@host');
    expect(redactUrl('redis://user@host')).toBe('redis://user@host');
    expect(redactUrl('redis://host:6379')).toBe('redis://host:6379');
  });

  it('hides what may be credentials in a string that is not a URL', () => {
    expect(redactUrl('redis://u:secret@host:99999')).toBe('redis://***@host:99999');
    expect(redactUrl('redis//:secret@host')).toBe('***@host');
    expect(redactUrl('redis://user:p w@host')).toBe('redis://user:***@host');
  });
});

/**
 * A workaround for a leak in the runtime's HTTP layer (httpx 2.x under @darabonba/typescript 1.x).
 *
 * httpx arms a read timer on the socket of every request and only its own `httpx.read()` clears
 * it; the runtime reads response bodies with a helper of its own, so every finished request (its
 * ClientRequest, IncomingMessage and closures) stays reachable until that timer fires, a whole
 * read timeout later. At the adapter's call rates that is thousands of dead requests at any time:
 * the benchmark's worker peaked ~100 MiB higher than with this cleared (bench/README.md, P5).
 *
 * Neither the runtime nor `callApi` exposes the request, so this watches Node's own HTTP
 * diagnostics channel: once a response has been read to its end, the timer that guarded it has
 * nothing left to guard and is cleared, exactly as `httpx.read()` would have done. Requests that
 * do not carry httpx's timer are left alone. `test/cloud/http-read-timers.test.ts` proves the
 * requests are collected, so an upgrade that renames the timer is noticed.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** httpx's key for the timer, `Symbol('TIMER::READ_TIMER')`: private, so found by its description. */
const READ_TIMER_DESCRIPTION = 'TIMER::READ_TIMER';

let installed = false;
let readTimerKey: symbol | undefined;

/** Installs the clean-up once per process; further calls do nothing. */
export function clearReadTimersOfFinishedResponses(): void {
  if (installed) return;
  installed = true;
  diagnosticsChannel.subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    request.once('response', onResponse);
  });
}

function onResponse(response: IncomingMessage): void {
  const socket = response.socket;
  if (socket === null) return;
  const key = readTimerKeyOf(socket);
  if (key === undefined) return;
  const slots = socket as unknown as Record<symbol, unknown>;
  const timer = slots[key];
  if (timer === null || timer === undefined) return;
  response.once('end', () => {
    // Node hands a kept-alive socket to the next request only on a later tick, so the timer
    // on the socket is still this response's; the comparison keeps it that way regardless.
    if (slots[key] !== timer) return;
    clearTimeout(timer as NodeJS.Timeout);
    slots[key] = null;
  });
}

function readTimerKeyOf(socket: Socket): symbol | undefined {
  if (readTimerKey !== undefined) return Object.hasOwn(socket, readTimerKey) ? readTimerKey : undefined;
  readTimerKey = Object.getOwnPropertySymbols(socket).find((key) => key.description === READ_TIMER_DESCRIPTION);
  return readTimerKey;
}

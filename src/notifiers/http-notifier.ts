/**
 * A notifier that POSTs JSON to a URL (generic webhook, Slack or Teams payload: formats.ts), with
 * retries: network errors, timeouts, 408, 429 and 5xx are tried again after initialDelayMs,
 * doubling up to maxDelayMs, until maxAttempts; any other 4xx gives up at once (a wrong or revoked
 * URL will not heal by waiting). The URL is a secret (Slack and Teams put the credential in it):
 * logs and state name only its host.
 */
import type { DeliveryResult, Notification, Notifier, NotifierState } from '../core/notify.js';
import type { Clock, Logger } from '../core/types.js';
import type { NotifierConfig } from '../alerting/config.js';
import { payloadFor } from './formats.js';

/** Waits `ms`; injected so tests do not sleep. */
export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

export interface HttpNotifierDeps {
  clock: Clock;
  logger: Logger;
  sleep?: Sleep;
  /** Injected for tests; the global fetch by default. */
  fetch?: typeof fetch;
}

const RETRYABLE = (status: number) => status === 408 || status === 429 || status >= 500;

export class HttpNotifier implements Notifier {
  readonly name: string;
  readonly kind: NotifierState['kind'];
  private readonly host: string;
  private st: NotifierState;

  constructor(private readonly cfg: NotifierConfig, private readonly deps: HttpNotifierDeps) {
    this.name = cfg.name;
    this.kind = cfg.kind;
    this.host = new URL(cfg.url).host;
    this.st = { name: cfg.name, kind: cfg.kind, status: 'unused', sent: 0, failed: 0, consecutiveFailures: 0, lastAttemptAt: null, lastSuccessAt: null, lastError: null };
  }

  state(): NotifierState {
    return { ...this.st };
  }

  async send(n: Notification): Promise<DeliveryResult> {
    const body = JSON.stringify(payloadFor(this.kind, n, this.cfg.teamsFormat));
    const sleep = this.deps.sleep ?? realSleep;
    const doFetch = this.deps.fetch ?? fetch;
    let delay = this.cfg.initialDelayMs;
    let error = '';
    let attempts = 0;
    while (attempts < this.cfg.maxAttempts) {
      if (attempts > 0) {
        await sleep(delay);
        delay = Math.min(this.cfg.maxDelayMs, Math.max(1, delay * 2));
      }
      attempts++;
      this.st.lastAttemptAt = this.deps.clock.now();
      let retry = true;
      try {
        const res = await doFetch(this.cfg.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...this.cfg.headers },
          body,
          signal: AbortSignal.timeout(this.cfg.timeoutMs),
        });
        const text = await res.text().catch(() => '');
        if (res.ok) return this.succeeded(attempts);
        error = `HTTP ${res.status} from ${this.host}${text ? `: ${text.slice(0, 200)}` : ''}`;
        retry = RETRYABLE(res.status);
      } catch (err) {
        error = `${(err as Error).name === 'TimeoutError' ? `no answer within ${this.cfg.timeoutMs} ms` : (err as Error).message} (${this.host})`;
      }
      if (!retry) break;
    }
    return this.failed(n, attempts, error);
  }

  private succeeded(attempts: number): DeliveryResult {
    this.st = { ...this.st, status: 'ok', sent: this.st.sent + 1, consecutiveFailures: 0, lastSuccessAt: this.deps.clock.now() };
    return { ok: true, attempts };
  }

  private failed(n: Notification, attempts: number, error: string): DeliveryResult {
    const message = `${error} after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
    this.st = { ...this.st, status: 'failing', failed: this.st.failed + 1, consecutiveFailures: this.st.consecutiveFailures + 1, lastError: message };
    this.deps.logger.error(
      { notifier: this.name, kind: this.kind, host: this.host, key: n.key, attempts },
      `notifier "${this.name}" (${this.kind}) could not deliver "${n.title}": ${message}. Check its url in the notifiers config and that ${this.host} is reachable; the alert stays due and is sent again at the next evaluation`,
    );
    return { ok: false, attempts, error: message };
  }
}

/** All configured notifiers as one (core/notify.ts `NotifierSet`). */
import type { DeliveryResult, Notification, Notifier, NotifierSet, NotifierState } from '../core/notify.js';
import type { NotifierConfig } from '../alerting/config.js';
import { HttpNotifier, type HttpNotifierDeps } from './http-notifier.js';

export class Notifiers implements NotifierSet {
  constructor(readonly notifiers: readonly Notifier[]) {}

  static fromConfig(list: NotifierConfig[], deps: HttpNotifierDeps): Notifiers {
    return new Notifiers(list.map((c) => new HttpNotifier(c, deps)));
  }

  async broadcast(n: Notification): Promise<{ name: string; result: DeliveryResult }[]> {
    return Promise.all(
      this.notifiers.map(async (x) => {
        try {
          return { name: x.name, result: await x.send(n) };
        } catch (err) {
          // send never rejects by contract; a bug in one notifier must not stop the others.
          return { name: x.name, result: { ok: false, attempts: 0, error: String((err as Error)?.message ?? err) } };
        }
      }),
    );
  }

  states(): NotifierState[] {
    return this.notifiers.map((x) => x.state());
  }
}

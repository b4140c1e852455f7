/**
 * The MQTT load generator: a few QoS 1 connections (not one per sensor: at 20,000 msg/s a client
 * per sensor costs the generator more than the target), paced by the wall clock in 5 ms ticks,
 * with a bound on unacknowledged messages. A generator that cannot keep the offered rate says so
 * (achieved < offered): the step then does not count as held.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Workload } from './workload.js';

export interface StepLoad {
  offered: number;
  sent: number;
  acked: number;
  failed: number;
  /** First global message index of the step. */
  from: number;
  seconds: number;
  /** 5 ms ticks that ended with the in-flight window full (0: the generator itself was the limit). */
  windowFullTicks: number;
}

export class MqttLoad {
  /** Wall-clock publish time of every message so far, by global index. */
  publishedAt = new Float64Array(1 << 20);
  next = 0;
  private inflight = 0;

  private constructor(private readonly clients: MqttClient[], private readonly w: Workload, private readonly maxInflight: number) {}

  static async connect(url: string, w: Workload, connections: number, maxInflight: number): Promise<MqttLoad> {
    const clients = await Promise.all(
      Array.from({ length: connections }, (_, k) => connectAsync(url, { clientId: `bench-load-${k}-${process.pid}`, clean: true, reconnectPeriod: 0, connectTimeout: 10_000 })),
    );
    return new MqttLoad(clients, w, maxInflight);
  }

  private record(i: number, t: number): void {
    if (i >= this.publishedAt.length) {
      const grown = new Float64Array(this.publishedAt.length * 2);
      grown.set(this.publishedAt);
      this.publishedAt = grown;
    }
    this.publishedAt[i] = t;
  }

  /** Offers `rate` msg/s for `seconds`, then waits up to `ackWaitMs` for the outstanding PUBACKs. */
  async step(rate: number, seconds: number, ackWaitMs = 15_000): Promise<StepLoad> {
    const res: StepLoad = { offered: rate, sent: 0, acked: 0, failed: 0, from: this.next, seconds, windowFullTicks: 0 };
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - start) / 1000) * rate);
      while (res.sent < due && this.inflight < this.maxInflight) {
        const i = this.next++;
        const now = Date.now();
        this.record(i, now);
        this.inflight++;
        res.sent++;
        this.clients[i % this.clients.length].publish(this.w.topics[i % this.w.sensors], this.w.mqttPayload(i, now), { qos: 1 }, (err) => {
          this.inflight--;
          if (err) res.failed++;
          else res.acked++;
        });
      }
      if (this.inflight >= this.maxInflight) res.windowFullTicks++;
      await sleep(5);
    }
    const deadline = performance.now() + ackWaitMs;
    while (res.acked + res.failed < res.sent && performance.now() < deadline) await sleep(20);
    return res;
  }

  /** Publishes `n` messages as fast as the in-flight bound allows (one per sensor: the warm-up). */
  async burst(n: number): Promise<StepLoad> {
    const perSecond = 1000;
    const seconds = Math.ceil(n / perSecond);
    const res = await this.step(n / seconds, seconds);
    // Pacing rounds down: top up so every sensor has sent once.
    while (this.next < n) await this.step(1000, 0.2);
    return res;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.endAsync(true).catch(() => undefined)));
  }
}

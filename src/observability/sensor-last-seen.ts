/** The label value that stands for every sensor beyond the cap; it cannot be a sensor id (ids start with a letter or digit). */
export const OTHER_SENSORS = '_other';

/**
 * Last-seen time per sensor with a bounded number of label values: the first `maxLabels` sensors
 * seen keep their own label for the life of the process (so series do not churn), every later
 * one is folded into `_other`. `_other` reports the OLDEST last-seen among its sensors, so an alert
 * on "silent for longer than X" still fires when any one of them goes quiet.
 */
export class SensorLastSeen {
  private readonly labelledSensors = new Map<string, number>();
  private readonly others = new Map<string, number>();

  constructor(private readonly maxLabels: number) {}

  saw(sensorId: string, atMs: number): void {
    const own = this.labelledSensors.get(sensorId);
    if (own !== undefined) {
      if (atMs > own) this.labelledSensors.set(sensorId, atMs);
      return;
    }
    const other = this.others.get(sensorId);
    if (other !== undefined) {
      if (atMs > other) this.others.set(sensorId, atMs);
      return;
    }
    if (this.labelledSensors.size < this.maxLabels) this.labelledSensors.set(sensorId, atMs);
    else this.others.set(sensorId, atMs);
  }

  get labelled(): number {
    return this.labelledSensors.size;
  }

  get aggregated(): number {
    return this.others.size;
  }

  samples(): { sensorId: string; lastSeenMs: number }[] {
    const out = [...this.labelledSensors].map(([sensorId, lastSeenMs]) => ({ sensorId, lastSeenMs }));
    if (this.others.size > 0) {
      let oldest = Infinity;
      for (const t of this.others.values()) oldest = Math.min(oldest, t);
      out.push({ sensorId: OTHER_SENSORS, lastSeenMs: oldest });
    }
    return out;
  }
}

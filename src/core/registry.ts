/** Sensor registry: what validation needs to know about sensors, kept in memory for the hot path. */
export interface MetricSpec {
  unit: string | null;
  min: number | null;
  max: number | null;
}

export interface SensorSpec {
  sensorId: string;
  location: string | null;
  type: string | null;
  /** Expected interval between readings, seconds (drives completeness checks). */
  expectedIntervalS: number | null;
  metrics: Record<string, MetricSpec>;
}

/** `auto` registers unknown sensors on first sight; `strict` quarantines them as `unknown_sensor`. */
export type UnknownSensorPolicy = 'auto' | 'strict';

/** Read-only view of the registry used by validation. Implementations must answer synchronously from memory. */
export interface RegistryView {
  policy: UnknownSensorPolicy;
  get(sensorId: string): SensorSpec | undefined;
}

/** A registry held in memory; the warehouse is its durable home. */
export class MemoryRegistry implements RegistryView {
  private readonly sensors = new Map<string, SensorSpec>();
  constructor(public policy: UnknownSensorPolicy = 'auto', initial: SensorSpec[] = []) {
    for (const s of initial) this.sensors.set(s.sensorId, s);
  }
  get(sensorId: string): SensorSpec | undefined {
    return this.sensors.get(sensorId);
  }
  set(spec: SensorSpec): void {
    this.sensors.set(spec.sensorId, spec);
  }
  all(): SensorSpec[] {
    return [...this.sensors.values()];
  }
}

/** The id alphabet (DESIGN §3). Anything else is refused before it reaches a topic, a path or SQL. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function isValidId(s: unknown): s is string {
  return typeof s === 'string' && ID_PATTERN.test(s);
}

/** Telemetry topic for one sensor. */
export function telemetryTopic(sensorId: string): string {
  return `sensors/${sensorId}/telemetry`;
}

/** Returns the sensor id of a telemetry topic, or null if the topic is not one (wildcards, extra levels, bad ids). */
export function sensorFromTopic(topic: string): string | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== 'sensors' || parts[2] !== 'telemetry') return null;
  return isValidId(parts[1]) ? parts[1] : null;
}

/**
 * The one catalogue of outcome reason codes. Codes are low-cardinality and
 * stable: they are metric labels, partition names in the lake and values in
 * the warehouse, so never rename one, only add.
 */
export const QUARANTINE_REASONS = {
  invalid_json: 'payload is not valid JSON (or not valid UTF-8)',
  schema: 'payload is JSON but not in a shape Sensorpipe understands',
  non_finite: 'a value is not a finite number (NaN, Infinity, null, string, or beyond ±2^53 precision)',
  invalid_id: 'a sensor id or metric name is outside ^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$',
  bad_timestamp: 'the timestamp is missing, unparseable, without a zone, or implausibly old',
  future_timestamp: 'the timestamp is further in the future than the allowed clock skew',
  out_of_range: 'the value is outside the min/max registered for this sensor and metric',
  unknown_sensor: 'the sensor is not registered and the registry policy is strict',
  identity_mismatch: 'the body names a different sensor than the topic the device published to',
  conflicting_duplicate: 'a reading for the same sensor, metric and time already exists with another value',
  payload_too_large: 'the payload is larger than the configured limit',
  bad_row: 'an imported CSV/TSV row has more or fewer fields than the header (or an NDJSON line is not a JSON object); not guessed',
} as const;

export type QuarantineReason = keyof typeof QUARANTINE_REASONS;

/** Refused at the door: never acknowledged as accepted, never stored as data. */
export const REJECT_REASONS = {
  auth_failed: 'wrong or missing credentials',
  invalid_client_id: 'client id or username outside the id alphabet',
  not_authorized: 'the device may not publish to this topic (not one of its sensors, or not a telemetry topic)',
  subscribe_denied: 'devices may not subscribe',
  spool_full: 'the durable spool reached its size limit; the client must retry later',
  body_too_large: 'the HTTP request body (or its gzip-decompressed size) is over http.maxBodyBytes / http.maxDecompressedBytes',
  unsupported_media_type: 'the HTTP request has a content type or content encoding the endpoint does not read',
  bad_request: 'the HTTP request is malformed (empty body, broken gzip, bad query parameter)',
  packet_too_large: 'an MQTT packet declares a size over mqtt.maxPacketBytes; the connection is closed before the packet is read',
} as const;

export type RejectReason = keyof typeof REJECT_REASONS;

export type Outcome = 'accepted' | 'quarantined' | 'rejected' | 'duplicate';

export function isQuarantineReason(s: string): s is QuarantineReason {
  return Object.prototype.hasOwnProperty.call(QUARANTINE_REASONS, s);
}

import type { Command } from 'commander';
import { AuthError, AuthStore, type Role } from '../../auth/auth-store.js';
import { dataPaths } from '../../runtime/paths.js';
import { configFrom, type CommonFlags } from '../config-flags.js';
import { CliError, EXIT, printRows } from '../output.js';

function openAuth(program: Command): AuthStore {
  const config = configFrom(program.opts<CommonFlags>());
  return AuthStore.open(dataPaths(config.dataDir).auth);
}

export function registerDevices(program: Command): void {
  const devices = program.command('devices').description('manage device credentials (works while the server runs)');
  devices
    .command('add <device-id>')
    .description('create a device (or give it a new secret) and print its secret once')
    .option('--sensors <ids>', 'comma-separated sensors it may publish for (default: the sensor with its own id)')
    .option('--json', 'print {"device_id","secret","sensors"} as JSON')
    .addHelpText('after', '\nExamples:\n  sensorpipe devices add boiler-1\n  sensorpipe devices add gateway-7 --sensors room-1,room-2,room-3')
    .action(async (deviceId: string, flags: { sensors?: string; json?: boolean }) => {
      const sensors = flags.sensors ? flags.sensors.split(',').map((s) => s.trim()).filter(Boolean) : [deviceId];
      const auth = openAuth(program);
      try {
        const secret = await auth.addDevice(deviceId, sensors);
        if (flags.json) {
          process.stdout.write(JSON.stringify({ device_id: deviceId, secret, sensors }) + '\n');
        } else {
          process.stdout.write(
            `device ${deviceId} may publish for: ${sensors.join(', ')}\n` +
              `secret (shown once, store it now): ${secret}\n` +
              `connect with username "${deviceId}" and this secret as password, and publish to sensors/<sensor_id>/telemetry\n`,
          );
        }
      } catch (err) {
        if (err instanceof AuthError) throw new CliError(err.message, EXIT.usage);
        throw err;
      } finally {
        auth.close();
      }
    });
  devices
    .command('list')
    .description('list devices and the sensors they may publish for')
    .option('--json', 'one JSON object per line')
    .addHelpText('after', '\nExamples:\n  sensorpipe devices list\n  sensorpipe devices list --json | jq -r .device_id')
    .action((flags: { json?: boolean }) => {
      const auth = openAuth(program);
      const rows = auth.listDevices().map((d) => ({ device_id: d.deviceId, sensors: d.sensors.join(','), created_at: new Date(d.createdAt).toISOString() }));
      auth.close();
      printRows(rows, ['device_id', 'sensors', 'created_at'], !!flags.json);
    });
  devices
    .command('remove <device-id>')
    .description('delete a device; it can no longer connect')
    .addHelpText('after', '\nExamples:\n  sensorpipe devices remove boiler-1')
    .action((deviceId: string) => {
      const auth = openAuth(program);
      const removed = auth.removeDevice(deviceId);
      auth.close();
      if (!removed) throw new CliError(`no device "${deviceId}" (see \`sensorpipe devices list\`)`, EXIT.usage);
      process.stdout.write(`removed device ${deviceId}\n`);
    });

  program
    .command('tokens')
    .description('manage API tokens')
    .command('create')
    .description('create an API token and print it once; the server stores only its hash')
    .requiredOption('--role <role>', 'admin | analyst | scientist | device')
    .option('--name <name>', 'a label to recognise it by')
    .option('--device <device-id>', 'with --role device: the device whose sensors the token may write over HTTP ingest')
    .addHelpText(
      'after',
      '\nExamples:\n  sensorpipe tokens create --role analyst --name powerbi\n  sensorpipe tokens create --role device --device gateway-7 --name telegraf',
    )
    .action((flags: { role: string; name?: string; device?: string }) => {
      const auth = openAuth(program);
      try {
        const token = auth.createToken(flags.role as Role, flags.name ?? null, Date.now(), flags.device ?? null);
        process.stdout.write(`${token}\n`);
        process.stderr.write(`token for role ${flags.role} created; it is shown only this once. Use it as: Authorization: Bearer <token>\n`);
        if (flags.role === 'device' && !flags.device) {
          process.stderr.write('note: this device token names no device, so HTTP ingest refuses it; add --device <device-id>\n');
        } else if (flags.device) {
          process.stderr.write(`it may write the sensors of device ${flags.device} through POST /v1/ingest, /v1/ingest/senml and /api/v2/write\n`);
        }
      } catch (err) {
        if (err instanceof AuthError) throw new CliError(err.message, EXIT.usage);
        throw err;
      } finally {
        auth.close();
      }
    });
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SettingsError,
  concurrencyFor,
  envName,
  flagName,
  loadSettings,
  parseDuration,
  parseSize,
} from './settings.ts';

describe('Operator settings', () => {
  it('default like controller-runtime when nothing is set', () => {
    const s = loadSettings({}, []);
    assert.deepEqual(s.watchNamespaces, []);
    assert.equal(s.leaderElect, true);
    assert.equal(s.leaseDuration, 15_000);
    assert.equal(s.renewDeadline, 10_000);
    assert.equal(s.retryPeriod, 2_000);
    assert.equal(s.metricsBindAddress, ':8080');
    assert.equal(s.healthProbeBindAddress, ':8081');
    assert.equal(s.resyncPeriod, 36_000_000);
    assert.equal(s.backoffBase, 5);
    assert.equal(s.logLevel, 'info');
  });

  it('read environment variables named after the fields', () => {
    const s = loadSettings(
      {
        WATCH_NAMESPACES: 'a, b,,c',
        LEADER_ELECT: 'false',
        RESYNC_PERIOD: '1h30m',
        MAX_CONCURRENT_RECONCILES: '4',
      },
      [],
    );
    assert.deepEqual(s.watchNamespaces, ['a', 'b', 'c']);
    assert.equal(s.leaderElect, false);
    assert.equal(s.resyncPeriod, 5_400_000);
    assert.equal(s.maxConcurrentReconciles, 4);
  });

  it('let flags win over environment variables', () => {
    const s = loadSettings({ LOG_LEVEL: 'warn' }, [
      '--log-level=debug',
      '--leader-elect=false',
      '--lease-duration=30s',
    ]);
    assert.equal(s.logLevel, 'debug');
    assert.equal(s.leaderElect, false);
    assert.equal(s.leaseDuration, 30_000);
  });

  it('give per-controller concurrency overrides', () => {
    const s = loadSettings({ CONTROLLER_CONCURRENCY: 'queue=8, RabbitmqCluster=1' }, []);
    assert.equal(concurrencyFor(s, 'queue'), 8);
    assert.equal(concurrencyFor(s, 'rabbitmqcluster'), 1);
    assert.equal(concurrencyFor(s, 'exchange'), 2);
  });

  it('name every bad variable and flag in one error', () => {
    assert.throws(
      () => loadSettings({ LEASE_DURATION: 'fifteen', LOG_LEVEL: 'loud' }, ['--nope=1']),
      (err: unknown) => {
        assert.ok(err instanceof SettingsError);
        assert.match(err.message, /LEASE_DURATION="fifteen": not a duration/);
        assert.match(err.message, /LOG_LEVEL="loud"/);
        assert.match(err.message, /unknown flag --nope/);
        return true;
      },
    );
  });

  it('bound the reconcile timeout', () => {
    assert.equal(loadSettings({}, []).reconcileTimeout, 120_000);
    assert.equal(loadSettings({ RECONCILE_TIMEOUT: '5m' }, []).reconcileTimeout, 300_000);
    assert.throws(
      () => loadSettings({ RECONCILE_TIMEOUT: '0' }, []),
      /RECONCILE_TIMEOUT="0": must be at least 1s/,
    );
    assert.throws(
      () => loadSettings({}, ['--reconcile-timeout=2h']),
      /--reconcile-timeout="2h": must be at most 1h/,
    );
  });

  it('refuse a duration longer than a timer can wait, which would fire at once instead', () => {
    assert.equal(loadSettings({ RESYNC_PERIOD: '596h' }, []).resyncPeriod, 596 * 3600 * 1000);
    assert.throws(
      () => loadSettings({ RESYNC_PERIOD: '600h' }, []),
      /RESYNC_PERIOD="600h": must be at most 596h/,
    );
  });

  it('bound every management API call in time and size', () => {
    const s = loadSettings({}, []);
    assert.equal(s.managementRequestTimeout, 30_000);
    assert.equal(s.managementExportTimeout, 60_000);
    assert.equal(s.managementMaxResponseSize, 32 * 2 ** 20);
    assert.equal(
      loadSettings({ MANAGEMENT_MAX_RESPONSE_SIZE: '512Mi' }, []).managementMaxResponseSize,
      2 ** 29,
    );
    assert.throws(
      () => loadSettings({ MANAGEMENT_MAX_RESPONSE_SIZE: '32MB', MANAGEMENT_REQUEST_TIMEOUT: '1h' }, []),
      (err: unknown) => {
        assert.ok(err instanceof SettingsError);
        assert.match(err.message, /MANAGEMENT_MAX_RESPONSE_SIZE="32MB": not a size/);
        assert.match(err.message, /MANAGEMENT_REQUEST_TIMEOUT="1h": must be at most 10m/);
        return true;
      },
    );
    assert.throws(
      () => loadSettings({ MANAGEMENT_MAX_RESPONSE_SIZE: '4096' }, []),
      /MANAGEMENT_MAX_RESPONSE_SIZE="4096": must be at least 1Mi/,
    );
  });

  it('cap the reconciles in flight per broker', () => {
    assert.equal(loadSettings({}, []).maxReconcilesPerBroker, 8);
    assert.equal(loadSettings({ MAX_RECONCILES_PER_BROKER: '2' }, []).maxReconcilesPerBroker, 2);
    assert.throws(
      () => loadSettings({ MAX_RECONCILES_PER_BROKER: '0' }, []),
      /MAX_RECONCILES_PER_BROKER="0"/,
    );
  });

  it('refuse a reconcile timeout that a slow broker would reach before its own deadline', () => {
    assert.throws(
      () => loadSettings({ MANAGEMENT_EXPORT_TIMEOUT: '2m' }, []),
      /RECONCILE_TIMEOUT \(not set, so its default\): must be longer than MANAGEMENT_EXPORT_TIMEOUT plus MANAGEMENT_REQUEST_TIMEOUT \(150s\)/,
    );
    const s = loadSettings({ MANAGEMENT_EXPORT_TIMEOUT: '2m', RECONCILE_TIMEOUT: '3m' }, []);
    assert.equal(s.reconcileTimeout, 180_000);
  });

  it('parse durations and map field names', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1500'), 1500);
    assert.throws(() => parseDuration('10 minutes'));
    assert.equal(parseSize('64Ki'), 65_536);
    assert.equal(parseSize('1Gi'), 2 ** 30);
    assert.equal(parseSize('1000'), 1000);
    assert.throws(() => parseSize('1.5Mi'), /not a size/);
    assert.equal(envName('healthProbeBindAddress'), 'HEALTH_PROBE_BIND_ADDRESS');
    assert.equal(flagName('healthProbeBindAddress'), 'health-probe-bind-address');
  });
});

// The kernel build options recorded with each measurement: read from the
// config text as Linux writes it, and from this host when it exposes one.
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { parseKernelConfig, readKernelConfig } from '../src/host/kernelConfig.ts';

// The lines that matter of this project's 6.18 guest (/proc/config.gz, 2026-12-01).
const guest = `# CONFIG_HZ_PERIODIC is not set
CONFIG_PREEMPT_BUILD=y
CONFIG_PREEMPT_NONE=y
# CONFIG_PREEMPT_VOLUNTARY is not set
# CONFIG_PREEMPT is not set
# CONFIG_PREEMPT_LAZY is not set
CONFIG_PREEMPT_COUNT=y
CONFIG_PREEMPTION=y
CONFIG_PREEMPT_DYNAMIC=y
CONFIG_PREEMPT_RCU=y
CONFIG_HZ_250=y
CONFIG_HZ=250
`;

describe('kernel config', () => {
  it('reads the preemption model, the RCU flavour and HZ', () => {
    expect(parseKernelConfig(guest, '/proc/config.gz', 'console=ttyS0 quiet')).toEqual({ source: '/proc/config.gz', preemptRcu: true, preemptDynamic: true, preemptBuild: 'none', preemptBoot: null, hz: 250 });
    // A voluntary build without preemptible RCU, booted with preempt=full; "# ... is not set" lines are not options.
    const server = '# CONFIG_PREEMPT_RCU is not set\nCONFIG_PREEMPT_VOLUNTARY=y\n# CONFIG_PREEMPT_NONE is not set\nCONFIG_HZ=1000\n';
    expect(parseKernelConfig(server, '/boot/config-x', 'ro preempt=full quiet')).toEqual({ source: '/boot/config-x', preemptRcu: false, preemptDynamic: false, preemptBuild: 'voluntary', preemptBoot: 'full', hz: 1000 });
    expect(parseKernelConfig('', 'empty')).toEqual({ source: 'empty', preemptRcu: false, preemptDynamic: false, preemptBuild: null, preemptBoot: null, hz: null });
  });

  const readable = existsSync('/proc/config.gz') || existsSync(`/boot/config-${release()}`);
  it.skipIf(!readable)(readable ? 'reads this host\'s config' : 'skipped: this host exposes neither /proc/config.gz nor /boot/config-<release>', () => {
    const c = readKernelConfig();
    expect(c).not.toBeNull();
    expect(['/proc/config.gz', `/boot/config-${release()}`]).toContain(c!.source);
    expect(c!.hz === null || c!.hz >= 100).toBe(true);
  });
});

// The topology must number logical cpus as Linux does on these machines
// (siblings n and n+cores), apply the scenario restrictions the blog used
// (one socket, HT off, fewer cores), and refuse restrictions the machine
// cannot satisfy.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { buildTopology, describeTopology, type Topology } from '../src/hardware/topology.ts';
import { listHardwareModels, loadHardwareModel } from '../src/config/hardwareSchema.ts';
import { InputError } from '../src/config/errors.ts';

const topo = (name: string, r?: Parameters<typeof buildTopology>[1]): Topology => buildTopology(loadHardwareModel(name), r);

describe('topology counts', () => {
  // [model, restriction, logical cpus, cores, sockets, l3 groups]; from the instance shapes in docs/sources.md section 4
  const cases: [string, Parameters<typeof buildTopology>[1], number, number, number, number][] = [
    ['r5.metal', {}, 96, 48, 2, 2],
    ['r5.metal', { sockets: 1 }, 48, 24, 1, 1],
    ['r5.metal', { smt: false }, 48, 48, 2, 2],
    ['r5.metal', { sockets: 1, smt: false }, 24, 24, 1, 1],
    ['c5.metal', {}, 96, 48, 2, 2],
    ['m7i.metal-24xl', {}, 96, 48, 1, 1],
    ['m7i.metal-24xl', { smt: false }, 48, 48, 1, 1],
    ['m7i.metal-48xl', {}, 192, 96, 2, 2],
    ['m7i.metal-48xl', { sockets: 1 }, 96, 48, 1, 1],
    // Genoa: 12 CCXs of 8 cores per socket, no SMT on m7a
    ['m7a.24xlarge', {}, 96, 96, 1, 12],
    ['m7a.24xlarge', { cores: 48 }, 48, 48, 1, 6],
    ['m7a.48xlarge', {}, 192, 192, 2, 24],
    // cores are taken socket-major: 30 cores = 24 on socket 0 + 6 on socket 1
    ['r5.metal', { cores: 30 }, 60, 30, 2, 2],
    ['generic-2core', {}, 2, 2, 1, 1],
  ];
  for (const [name, r, cpus, cores, sockets, l3] of cases) {
    it(`${name} ${JSON.stringify(r)}: ${cpus} cpus, ${cores} cores, ${sockets} sockets, ${l3} L3 groups`, () => {
      const t = topo(name, r);
      expect([t.cpus.length, t.cores, t.sockets, t.l3Groups]).toEqual([cpus, cores, sockets, l3]);
    });
  }
});

describe('linux cpu numbering', () => {
  it('r5.metal: cpu n and n+48 are siblings; cpu 24 starts socket 1', () => {
    const t = topo('r5.metal');
    expect(t.siblings[0]).toEqual([48]);
    expect(t.siblings[48]).toEqual([0]);
    expect(t.siblings[95]).toEqual([47]);
    expect(t.cpus[24]).toMatchObject({ core: 24, thread: 0, socket: 1 });
    expect(t.cpus[72]).toMatchObject({ core: 24, thread: 1, socket: 1 });
  });

  it('r5.metal with one socket: siblings n and n+24', () => {
    const t = topo('r5.metal', { sockets: 1 });
    expect(t.siblings[0]).toEqual([24]);
    expect(t.cpus.every((c) => c.socket === 0)).toBe(true);
  });

  it('no siblings with SMT off or on a one-thread machine', () => {
    expect(topo('m7i.metal-24xl', { smt: false }).siblings.every((s) => s.length === 0)).toBe(true);
    expect(topo('m7a.24xlarge').siblings.every((s) => s.length === 0)).toBe(true);
  });

  it('m7a: eight consecutive cores share a CCX', () => {
    const t = topo('m7a.48xlarge');
    expect(t.cpus.slice(0, 8).every((c) => c.l3 === 0)).toBe(true);
    expect(t.cpus[8]!.l3).toBe(1);
    expect(t.cpus[96]).toMatchObject({ socket: 1, l3: 12 });
  });

  it('holds for every model and restriction (dense ids, symmetric siblings on one core)', () => {
    const names = listHardwareModels();
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.boolean(), fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true }), (name, oneSocket, smtOff, coreFraction) => {
        const m = loadHardwareModel(name);
        const sockets = oneSocket ? 1 : m.topology.sockets;
        const cores = Math.max(1, Math.ceil(coreFraction * sockets * m.topology.coresPerSocket));
        const t = buildTopology(m, { sockets, smt: smtOff ? false : undefined, cores });
        expect(t.cpus.map((c) => c.id)).toEqual(t.cpus.map((_, i) => i));
        expect(t.cores).toBe(cores);
        for (const c of t.cpus) {
          for (const s of t.siblings[c.id]!) {
            expect(t.cpus[s]!.core).toBe(c.core);
            expect(t.siblings[s]).toContain(c.id);
            expect(s % t.cores).toBe(c.id % t.cores);
          }
          expect(t.siblings[c.id]!.length).toBe(t.cpus.length / t.cores - 1);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('mesh tiles', () => {
  it('spread the cores of a socket over distinct tiles of its grid', () => {
    for (const name of ['r5.metal', 'm7i.metal-48xl']) {
      const m = loadHardwareModel(name);
      const grid = m.fabric.mesh!.columns * m.fabric.mesh!.rows;
      const t = buildTopology(m, { smt: false });
      const socket0 = t.cpus.filter((c) => c.socket === 0).map((c) => c.tile);
      expect(new Set(socket0).size).toBe(m.topology.coresPerSocket);
      expect(Math.min(...socket0)).toBe(0);
      expect(Math.max(...socket0)).toBeLessThan(grid);
      // the last core sits in the last part of the grid, not bunched at the start
      expect(Math.max(...socket0)).toBeGreaterThanOrEqual(grid - Math.ceil(grid / m.topology.coresPerSocket));
      const socket1 = t.cpus.filter((c) => c.socket === 1).map((c) => c.tile);
      expect(socket1).toEqual(socket0);
    }
  });

  it('are 0 on chiplet machines, and SMT siblings share their core tile', () => {
    expect(topo('m7a.48xlarge').cpus.every((c) => c.tile === 0)).toBe(true);
    const t = topo('m7i.metal-24xl');
    expect(t.cpus[5]!.tile).toBe(t.cpus[53]!.tile);
  });
});

describe('restriction errors', () => {
  const err = (name: string, r: Parameters<typeof buildTopology>[1]): InputError => {
    try {
      topo(name, r);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return e as InputError;
    }
    throw new Error('expected an InputError');
  };

  it('three sockets of a two-socket machine', () => {
    const e = err('r5.metal', { sockets: 3 });
    expect(e.field).toBe('machine.sockets');
    expect(e.expected).toContain('from 1 to 2');
  });

  it('more cores than the chosen sockets have', () => {
    const e = err('m7i.metal-48xl', { sockets: 1, cores: 49 });
    expect(e.field).toBe('machine.cores');
    expect(e.expected).toContain('from 1 to 48');
  });

  it('SMT on a machine without it', () => {
    expect(err('m7a.24xlarge', { smt: true }).field).toBe('machine.smt');
  });

  it('use the caller\'s locator so the scenario line is reported', () => {
    const m = loadHardwareModel('r5.metal');
    const located = () => buildTopology(m, { sockets: 3 }, (field, expected, got) => new InputError({ file: 's.yaml', line: 9, column: 4, field: `variants[2].machine.${field}`, expected, got }));
    expect(located).toThrow(/^s\.yaml:9:4: variants\[2\]\.machine\.sockets: expected an integer from 1 to 2 .*, got 3$/);
  });
});

describe('describeTopology', () => {
  it('says what the simulated machine is in one line', () => {
    expect(describeTopology(topo('r5.metal', { sockets: 1 }))).toBe('r5.metal: 1 socket, 24 cores, 48 cpus (SMT on), 1 L3 group, mesh 6x5');
    expect(describeTopology(topo('m7a.24xlarge'))).toBe('m7a.24xlarge: 1 socket, 96 cores, 96 cpus (SMT off), 12 L3 groups, chiplet');
  });
});

/**
 * What a deletion's activities cost the worker's main thread, without Temporal: N deletions at
 * once (3 regions, 1 template each, as in P2), each running imgdel's seven activities in the
 * saga's order (validate, usage check beside the template list, the template delete, three
 * region deletes beside each other) in the SDK's mock activity context against an emulator in
 * its own process, against the no-op baseline's seven activities run the same way. The
 * difference is what the cloud calls cost a worker apart from Temporal's share; P2's worker gap
 * (bench/README.md) is that plus whatever Temporal charges for a deletion's activities.
 *
 *   npx tsx bench/activity-cpu.ts [--deletions 500] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Runtime } from '@temporalio/worker';
import { z } from 'zod';
import { createActivities } from '../src/activities/index.js';
import { createAlibabaCloudAdapter } from '../src/cloud/alibaba-adapter.js';
import { loadConfig } from '../src/config.js';
import { EmulatorAdmin } from '../src/emulator/admin-client.js';
import { EMULATOR_DEFAULTS } from '../src/emulator/defaults.js';
import { cloudCallMetrics } from '../src/observability/cloud-metrics.js';
import { startEmulatorProcess } from './lib/emulator-process.js';
import { P2_REGIONS, seed } from './lib/scenarios.js';
import { createNoopActivities } from './noop-activities.js';

const argsSchema = z.object({
  deletions: z.coerce.number().int().min(10).max(5_000).default(500),
  rounds: z.coerce.number().int().min(1).max(10).default(3),
});

const REGIONS = [...P2_REGIONS];
const ATTEMPTS = { attemptBudget: 3 };

/** Runs one activity call in a fresh mock context, as the worker gives each attempt its own. */
function inContext<Args extends unknown[], Result>(fn: (...args: Args) => Promise<Result>, ...args: Args): Promise<Result> {
  return new MockActivityEnvironment({ attempt: 1 }).run(fn, ...args);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { deletions: { type: 'string' }, rounds: { type: 'string' } } });
  const args = argsSchema.parse(values);
  const emulator = await startEmulatorProcess();
  const admin = new EmulatorAdmin(emulator.url);
  const config = loadConfig({
    IMGDEL_CLOUD_ENDPOINT: emulator.endpoint,
    ALIBABA_CLOUD_ACCESS_KEY_ID: EMULATOR_DEFAULTS.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: EMULATOR_DEFAULTS.accessKeySecret,
    IMGDEL_CLOUD_RATE: '1000',
  });
  // As the worker builds it, its per-call metrics included.
  const cloud = createAlibabaCloudAdapter(config.cloud, { onCall: cloudCallMetrics(Runtime.instance().metricMeter) });
  const imgdel = createActivities(cloud, { accountId: EMULATOR_DEFAULTS.accountId });
  const noop = createNoopActivities();

  const deleteOne = async (imageId: string): Promise<void> => {
    const plan = await inContext(imgdel.validateImage, { imageId, allowCreating: false });
    const [, templates] = await Promise.all([
      inContext(imgdel.checkImageUsage, { imageId, regions: plan.regions }),
      inContext(imgdel.listTemplates, imageId),
    ]);
    for (const template of templates) {
      await inContext(imgdel.deleteTemplate, { templateId: template.templateId, templateName: template.templateName, ...ATTEMPTS });
    }
    await Promise.all(plan.regions.map((regionId) => inContext(imgdel.deleteImageInRegion, { imageId, regionId, ...ATTEMPTS })));
  };
  const noopOne = async (imageId: string): Promise<void> => {
    const plan = await inContext(noop.validateImage, { imageId, regions: REGIONS });
    const [, templates] = await Promise.all([
      inContext(noop.checkImageUsage, { imageId, regions: plan.regions }),
      inContext(noop.listTemplates, { imageId, templates: [`${imageId}-template-0`] }),
    ]);
    const names = Array.isArray(templates) ? templates : templates.templates;
    for (const name of names) await inContext(noop.deleteTemplate, name);
    await Promise.all(plan.regions.map((regionId) => inContext(noop.deleteImageInRegion, { imageId, regionId })));
  };

  const measure = async (label: string, ids: string[], run: (imageId: string) => Promise<void>) => {
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    await Promise.all(ids.map(run));
    const wallMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuBefore);
    const perDeletion = (micros: number) => (micros / 1000 / ids.length).toFixed(2);
    console.log(
      `${label.padEnd(14)} ${ids.length} in ${wallMs.toFixed(0)} ms; CPU ms per deletion ${perDeletion(cpu.user + cpu.system)} (user ${perDeletion(cpu.user)}, system ${perDeletion(cpu.system)})`,
    );
    return (cpu.user + cpu.system) / 1000 / ids.length;
  };

  const seeded = async (tag: string): Promise<string[]> => {
    const ids = Array.from({ length: args.deletions }, (_, index) => `img-act${tag}${String(index).padStart(5, '0')}`);
    await seed({ admin }, ids, REGIONS, 1);
    return ids;
  };

  try {
    // The first calls load the SDK and open sockets: one round unmeasured.
    await Promise.all((await seeded('w')).map(deleteOne));
    const gaps: number[] = [];
    for (let round = 1; round <= args.rounds; round += 1) {
      const ids = await seeded(`r${round}`);
      await admin.clearCalls();
      const imgdelMs = await measure(`imgdel #${round}`, ids, deleteOne);
      console.log(`${''.padEnd(14)} ${((await admin.calls()).length / ids.length).toFixed(2)} cloud calls per deletion`);
      const noopMs = await measure(`no-op #${round}`, Array.from({ length: args.deletions }, (_, index) => `img-noop${index}`), noopOne);
      gaps.push(imgdelMs - noopMs);
    }
    console.log(`imgdel's activities cost ${gaps.map((gap) => gap.toFixed(2)).join(', ')} ms of CPU per deletion more than the no-op's`);
  } finally {
    emulator.child.kill('SIGTERM');
  }
}

await main();

/**
 * The no-op baseline's activities: the same names and counts as one deletion's, doing
 * nothing but answering, so the baseline costs only what Temporal itself costs.
 */
export interface NoopPlan {
  regions: string[];
  pad?: string;
}

/** With `--noop-payload-bytes`, each answer carries this many bytes, so the baseline's history is as large as a deletion's. */
interface Padded {
  padBytes?: number;
}

/** The padding an answer carries; without the experiment none, so a void activity still answers nothing. */
function padding(padBytes: number | undefined): { pad: string } | undefined {
  return padBytes ? { pad: 'x'.repeat(padBytes) } : undefined;
}

export function createNoopActivities() {
  return {
    async validateImage(request: { imageId: string; regions: string[] } & Padded): Promise<NoopPlan> {
      return { regions: request.regions, ...padding(request.padBytes) };
    },
    async checkImageUsage(request: { imageId: string; regions: string[] } & Padded): Promise<{ pad: string } | undefined> {
      return padding(request.padBytes);
    },
    async listTemplates(request: { imageId: string; templates: string[] } & Padded): Promise<{ templates: string[]; pad?: string } | string[]> {
      return request.padBytes ? { templates: request.templates, ...padding(request.padBytes) } : request.templates;
    },
    async deleteTemplate(_templateId: string, padBytes?: number): Promise<{ pad: string } | undefined> {
      return padding(padBytes);
    },
    async deleteImageInRegion(request: { imageId: string; regionId: string } & Padded): Promise<{ pad: string } | undefined> {
      return padding(request.padBytes);
    },
  };
}

export type NoopActivities = ReturnType<typeof createNoopActivities>;

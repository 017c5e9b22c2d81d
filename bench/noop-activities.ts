/**
 * The no-op baseline's activities: the same names and counts as one deletion's, doing
 * nothing but answering, so the baseline costs only what Temporal itself costs.
 */
export interface NoopPlan {
  regions: string[];
}

export function createNoopActivities() {
  return {
    async validateImage(request: { imageId: string; regions: string[] }): Promise<NoopPlan> {
      return { regions: request.regions };
    },
    async checkImageUsage(_request: { imageId: string; regions: string[] }): Promise<void> {},
    async listTemplates(request: { imageId: string; templates: string[] }): Promise<string[]> {
      return request.templates;
    },
    async deleteTemplate(_templateId: string): Promise<void> {},
    async deleteImageInRegion(_request: { imageId: string; regionId: string }): Promise<void> {},
  };
}

export type NoopActivities = ReturnType<typeof createNoopActivities>;

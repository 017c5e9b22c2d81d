import { usageSourcesFor, type CloudPort, type ImageUsage } from '../../src/cloud/port.js';

/** Every usage of an image across all sources, as the saga's usage check sees them. */
export async function allUsages(cloud: CloudPort, imageId: string, regions: readonly string[]): Promise<ImageUsage[]> {
  const bySource = await Promise.all(usageSourcesFor(regions).map((source) => cloud.listImageUsages(imageId, source)));
  return bySource.flat();
}

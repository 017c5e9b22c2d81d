/**
 * Every cloud API action the adapter sends: the names IMGDEL_CLOUD_RATE_LIMITS may limit, and
 * what deploy/ram-policy.json must allow. The adapter's calls are typed by this list.
 */
export const CLOUD_ACTIONS = [
  'ListImage',
  'DeleteImage',
  'ListAppInstanceGroup',
  'ListWuyingServer',
  'DescribeDesktopGroups',
  'DescribeTemplates',
  'DeleteTemplates',
  'CreateTemplate',
] as const;

export type CloudAction = (typeof CLOUD_ACTIONS)[number];

export function isCloudAction(name: string): name is CloudAction {
  return (CLOUD_ACTIONS as readonly string[]).includes(name);
}

/**
 * Adds `imageId` to every log line an activity writes (SDK lines included), so one image's
 * deletion can be followed across workers with a single filter. The id comes from the
 * activity's input when it carries one, otherwise from the workflow id (delete-image-<imageId>).
 * A region delete's lines also carry its `regionId`, taken from its input: all but "Activity
 * started", which the SDK writes before the input reaches this interceptor.
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { workflowIdFor } from '../workflows/input.js';

const WORKFLOW_ID_PREFIX = workflowIdFor('');

/** A text field of the activity's input object (its first argument), if it has one. */
function inputField(args: readonly unknown[], field: 'imageId' | 'regionId'): string | undefined {
  const first = args[0];
  if (typeof first !== 'object' || first === null) return undefined;
  const value: unknown = Reflect.get(first, field);
  return typeof value === 'string' ? value : undefined;
}

function imageIdFromArgs(args: readonly unknown[]): string | undefined {
  const first = args[0];
  if (typeof first === 'string' && /^imgc?-/.test(first)) return first;
  return inputField(args, 'imageId');
}

export function imageIdFromWorkflowId(workflowId: string | undefined): string | undefined {
  return workflowId?.startsWith(WORKFLOW_ID_PREFIX) ? workflowId.slice(WORKFLOW_ID_PREFIX.length) || undefined : undefined;
}

export const imageIdLogAttributes: ActivityInterceptorsFactory = (context) => {
  let imageId = imageIdFromWorkflowId(context.info.workflowExecution?.workflowId);
  let regionId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        imageId = imageIdFromArgs(input.args) ?? imageId;
        regionId = inputField(input.args, 'regionId');
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        return next({ ...input, ...(imageId === undefined ? {} : { imageId }), ...(regionId === undefined ? {} : { regionId }) });
      },
    },
  };
};

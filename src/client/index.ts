/**
 * imgdel's client module for backend services:
 *
 *   import { createImgdelClient } from 'imgdel/client';
 *   const imgdel = createImgdelClient();
 *   const { workflowId } = await imgdel.startDeletion({ imageId: 'img-0123abcd', reason: 'retired' });
 *   const outcome = await imgdel.waitForOutcome('img-0123abcd');
 */
export { createImgdelClient, DEFAULT_LIST_LIMIT, DEFAULT_WORKER_TIMEOUT_MS, deletionWorkflowId, ImgdelClient } from './client.js';
export type {
  AbortOptions,
  CancelResult,
  DeletionListItem,
  ImgdelClientOptions,
  ListOptions,
  StartedDeletion,
  TargetOptions,
  UpdateOptions,
  WaitOptions,
} from './client.js';
export { defaultUiUrl, workflowUiLink } from './connection.js';
export {
  AbandonNotFinishedError,
  DeletionNotFoundError,
  DeletionUpdateRefusedError,
  IMGDEL_ERROR_CODES,
  ImgdelClientClosedError,
  ImgdelError,
  isImgdelError,
  InvalidDeletionInputError,
  NamespaceNotFoundError,
  NoWorkerAnsweredError,
  NothingToRetryError,
  ProgressUnreadableError,
  RetryNotStartedError,
  TemporalRefusedError,
  TemporalServerError,
  TemporalUnavailableError,
} from './errors.js';
export type { ImgdelErrorCode } from './errors.js';
export { cloudCodeOf, isCloudCode, outcomeFromFailure, outcomeFromProgress } from './outcome.js';
/** createImgdelClient() throws it for a bad environment variable, TLS file or Temporal profile. */
export { ConfigError } from '../config.js';
export type { DeletionOutcome, OutcomeError, OutcomeRegion, OutcomeTemplate, RetryingStep } from './outcome.js';
export type { DeleteImageInput, InputProblem } from '../workflows/input.js';
export type { DeletionProgress, DeletionStatus } from '../workflows/model.js';

/**
 * The errors the emulator answers with, as the cloud words them: one code, one HTTP
 * status, one message. (Understanding codes on the client side is src/cloud/errors.ts.)
 */

/** Documented statuses; every code not listed here is HTTP 400, as on the real API. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ServiceUnavailable: 500,
  'InvalidAccessKeyId.NotFound': 404,
  'InvalidAction.NotFound': 404,
};

export function defaultHttpStatus(code: string): number {
  return STATUS_BY_CODE[code] ?? 400;
}

const MESSAGES: Readonly<Record<string, string>> = {
  'Image.NotExist': 'The specified image does not exist.',
  'ImageDeleteFailed.NotAllow': 'Only custom images owned by the current account can be deleted.',
  'ImageDeleteFailed.NotAllowSharedImage': 'Shared images cannot be deleted.',
  'ImageDeleteFailed.NotAllowCommunityParent': 'The image is the parent of a community image and cannot be deleted.',
  'ImageDeleteFailed.HasSharedImage': 'The image has shared images and cannot be deleted.',
  'InvalidImageOperation.ImageIsCreating': 'The image is being created.',
  ImageNotAllowDelete: 'The image is used by instances and cannot be deleted.',
  'InvalidTemplate.NotFound': 'The specified template does not exist.',
  MissingTemplateName: 'TemplateName is mandatory for this action.',
  MissingTemplateIds: 'TemplateIds is mandatory for this action.',
  MissingImageId: 'ImageId is mandatory for this action.',
  MissingRegionId: 'RegionId is mandatory for this action.',
  'InvalidParameter.ProductType': 'ProductType must be CloudApp.',
  'InvalidAction.NotFound': 'The specified action is not found.',
  InvalidVersion: 'The specified version is not supported by this action.',
  MissingVersion: 'Version is mandatory for this action.',
  'InvalidTimeStamp.Format': 'Specified time stamp or date value is not well formatted.',
  'InvalidTimeStamp.Expired': 'Specified time stamp or date value is expired.',
  SignatureNonceUsed: 'Specified signature nonce was used already.',
  IncompleteSignature: 'The request signature does not conform to Aliyun standards.',
  SignatureDoesNotMatch: 'The request signature we calculated does not match the signature you provided.',
  'InvalidAccessKeyId.NotFound': 'Specified access key is not found.',
  'Throttling.User': 'Request was denied due to user flow control.',
  InternalError: 'The request processing has failed due to some unknown error.',
  ServiceUnavailable: 'The request has failed due to a temporary failure of the server.',
};

export function defaultMessage(code: string): string {
  return MESSAGES[code] ?? `The request failed with ${code}.`;
}

/** Thrown by operations; the server turns it into the cloud's error body. */
export class ApiError extends Error {
  readonly code: string;
  readonly httpStatus: number;
  /** Extra response headers, e.g. x-acs-retry-after on throttling. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, message?: string, options: { httpStatus?: number; headers?: Record<string, string> } = {}) {
    super(message ?? defaultMessage(code));
    this.name = 'ApiError';
    this.code = code;
    this.httpStatus = options.httpStatus ?? defaultHttpStatus(code);
    this.headers = options.headers ?? {};
  }
}

export function errorBody(
  code: string,
  message: string,
  requestId: string,
  hostId: string,
): { RequestId: string; HostId: string; Code: string; Message: string; Recommend: string } {
  return {
    RequestId: requestId,
    HostId: hostId,
    Code: code,
    Message: message,
    Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}`,
  };
}

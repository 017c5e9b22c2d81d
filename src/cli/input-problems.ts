/**
 * An input refusal in the words of the command line: a problem with a field that `delete`,
 * `retry` or `abandon` sets from a flag names the flag (`--region-concurrency: must be …`), not the field.
 */
import { InvalidDeletionInputError } from '../client/errors.js';
import { describeInputProblems } from '../workflows/input.js';

/** The flags of delete, retry and abandon, by the input field or client option each one sets (a Map: no inherited keys). */
const FLAG_FOR_FIELD: ReadonlyMap<string, string> = new Map([
  ['reason', '--reason'],
  ['requestedBy', '--requested-by'],
  ['waitForCreationSeconds', '--wait-for-creation'],
  ['regionConcurrency', '--region-concurrency'],
  ['parkTimeoutSeconds', '--park-timeout'],
  ['updateId', '--update-id'],
]);

/** The same refusal with flag names; one about no flag's field is returned as it is. */
export function inFlagTerms(error: InvalidDeletionInputError): InvalidDeletionInputError {
  if (!error.issues.some((issue) => FLAG_FOR_FIELD.has(issue.field))) return error;
  const issues = error.issues.map((issue) => ({ field: FLAG_FOR_FIELD.get(issue.field) ?? issue.field, message: issue.message }));
  return new InvalidDeletionInputError(describeInputProblems(issues), error.consequence, issues, error.subject);
}

/** For a `.catch()`: an input refusal is rethrown in flag terms, anything else as it is. */
export function rethrowInFlagTerms(error: unknown): never {
  throw error instanceof InvalidDeletionInputError ? inFlagTerms(error) : error;
}

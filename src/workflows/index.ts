/** The workflows this worker registers. */
export { deleteImage } from './delete-image.js';

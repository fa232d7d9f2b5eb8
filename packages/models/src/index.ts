/** @lenet/models public API. */
export const packageName = '@lenet/models';

/** @lenet/backend public API. */
export const packageName = '@lenet/backend';

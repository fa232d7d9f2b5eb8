/** @lenet/cli public API. */
export const packageName = '@lenet/cli';

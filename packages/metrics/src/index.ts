/** @lenet/metrics public API. */
export const packageName = '@lenet/metrics';

/** @lenet/datasets public API. */
export const packageName = '@lenet/datasets';

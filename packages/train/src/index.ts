/** @lenet/train public API. */
export const packageName = '@lenet/train';

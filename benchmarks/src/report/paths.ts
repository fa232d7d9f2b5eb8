// The one owner of machine-path rewriting is @lenet/common (study reports use it too).
export { hasMachinePath, withoutMachinePaths } from '@lenet/common';

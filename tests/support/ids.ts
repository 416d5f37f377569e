export { sequentialIds } from '../../core/ids';

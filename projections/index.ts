export { ClusterProjection } from './cluster';
export type { ClusterView, Change, ChangeType, ProjectionOptions } from './cluster';
export { ObjectStore, INDEXED_FIELDS } from './objectStore';
export type { DeepReadonly, ListQuery, StoredObject } from './objectStore';
export { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, selectorFromMap, fieldValue } from './selectors';
export type { FieldRequirement, FieldSelector, LabelOperator, LabelRequirement, LabelSelector } from './selectors';

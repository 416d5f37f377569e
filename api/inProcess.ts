/**
 * The control plane's own frequent writes — a node's lease renewal, a pod's binding, a status
 * report, a create (the replication controller's pods, every controller's core/v1 Events) —
 * performed inside the server's process, without HTTP. Each runs what the API's handler for that
 * verb runs: for the first three the same validation and command through the same shell (no
 * admission applies to them there either); a create goes through ResourceHandler.createInProcess,
 * the steps of a POST (validation, defaults, managed fields, admission, quota) without the
 * request. The envelope is the one a controller's request would get — the actor, the cause, the
 * decision — recorded with `authMethod: in-process`, since no port was involved. Every other
 * action (updates, patches, deletes) goes over the API.
 *
 * Why: through HTTP each of these cost ~1.6 ms of CPU (request and answer serialised, parsed,
 * routed), most of the cost of 5,000 hollow nodes' heartbeats and of the scheduler's bindings.
 */
import * as E from 'fp-ts/Either';
import { kindSpec } from '../core/kinds';
import type { KubeObject } from '../core/objects/codecs';
import type { ObjectCommand } from '../core/deciders/object';
import type { WriteContext } from '../core/events/envelope';
import { handleCommand } from '../core/shell';
import { ApiError, type ActionPerformer, type Cause } from '../controllers/client';
import type { Action } from '../controllers/actions';
import { actorKindOf } from './auth/authn';
import { BOUND, ResourceHandler, bindCommand, renewLeaseCommand, statusCommand, type ApiContext, type Writer } from './resources';
import { rejectionStatus, type StatusBody } from './status';

export class InProcessActions implements ActionPerformer {
  private readonly resources: ResourceHandler;

  constructor(
    private readonly ctx: ApiContext,
    private readonly api: ActionPerformer,
  ) {
    this.resources = new ResourceHandler(ctx);
  }

  private writer(actor: string, cause: Cause): Writer {
    return { write: writeContext(actor, cause, this.ctx.ids.uuid()), dryRun: false };
  }

  async perform(action: Action, actor: string, manager: string, cause: Cause): Promise<unknown> {
    switch (action.verb) {
      case 'renewLease': {
        const command = renewLeaseCommand(action.name, action.holder, action.durationSeconds);
        if (E.isLeft(command)) throw statusError(command.left);
        return this.run({ kind: 'Lease', namespace: 'kube-node-lease', name: action.name }, command.right, actor, cause);
      }
      case 'bind': {
        await this.run({ kind: 'Pod', namespace: action.namespace, name: action.name }, bindCommand(action.node, action.uid), actor, cause);
        return BOUND;
      }
      case 'create': {
        const kind = kindSpec(action.kind);
        if (!kind) return this.api.perform(action, actor, manager, cause);
        const created = await this.resources.createInProcess(this.writer(actor, cause), kind, kind.namespaced ? action.namespace : undefined, action.body as unknown as Record<string, unknown>, manager);
        if (E.isLeft(created)) throw statusError(created.left);
        return created.right;
      }
      case 'updateStatus': {
        if (!kindSpec(action.kind)?.hasStatus) return this.api.perform(action, actor, manager, cause);
        return this.run({ kind: action.kind, namespace: action.namespace, name: action.name }, statusCommand(action.body), actor, cause);
      }
      default:
        return this.api.perform(action, actor, manager, cause);
    }
  }

  /** The command through the shell, as the API's handlers run it; the object as it is after. */
  private async run(key: { kind: string; namespace?: string; name: string }, command: ObjectCommand, actor: string, cause: Cause): Promise<KubeObject | undefined> {
    const { store, projection, ids, clock } = this.ctx;
    const { write } = this.writer(actor, cause);
    const result = await handleCommand(store, key, command, { now: clock(), ids, write }, projection.loader);
    if (E.isLeft(result)) throw statusError(rejectionStatus(result.left, key.kind));
    await projection.waitFor(result.right.position);
    return result.right.object ?? (projection.store(key.kind).get(key.namespace, key.name)?.object as KubeObject | undefined);
  }
}

/** The envelope of a controller's write: who, and the decision and the event that caused it. */
function writeContext(actor: string, cause: Cause, requestId: string): WriteContext {
  const kind = actorKindOf(actor);
  return {
    actor: { kind, name: actor, ...(kind === 'node' ? { groups: ['system:nodes'] } : {}), authMethod: 'in-process' },
    requestId,
    ...(cause.causationId ? { causationId: cause.causationId } : {}),
    ...(cause.correlationId ? { correlationId: cause.correlationId } : {}),
    observedPosition: cause.observedPosition.toString(),
    decidedAt: cause.decidedAt.toISOString(),
    ...(cause.decision ? { decision: { controller: cause.decision.controller, digest: cause.decision.digest, key: cause.decision.key } } : {}),
  };
}

const statusError = (s: StatusBody): ApiError => new ApiError(s.code, s.reason, s.message);

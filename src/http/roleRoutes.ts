import { ROUTES } from '../agent/contract.js';
import type { TrackerView } from '../tracker/types.js';
import { refuse } from './answers.js';
import { credentialsHandler } from './agentRoutes.js';
import { containerBody } from './credentialsBody.js';
import type { RouteCallers } from './createAgentServer.js';
import { requireToken, type Refusal } from './guards.js';
import { pathPattern, type Guard, type Route } from './routes.js';

export interface ServedRole {
  readonly tracker: TrackerView;
  /** The role's own allow list; undefined: the global allowUsers. */
  readonly allowUsers?: readonly string[] | undefined;
}

const NO_ROLE: Refusal = { status: 404, code: 'unknown-role', message: 'no such role is configured' };

/**
 * `GET /v1/roles/<name>/credentials`: a named role's credentials on the container protocol,
 * protected like /v1/credentials (token, then the calling user against the role's allowUsers).
 * Answered from the role's tracker with a body prepared once per session, like the machine
 * role's route; the role is never assumed on the request path.
 */
export interface RoleRoutesInit {
  roles: ReadonlyMap<string, ServedRole>;
  token: string;
  /** The token file's group: its members pass a role's own allowUsers too, as they do the agent's. */
  tokenGid: number | undefined;
}

export function roleRoutes(init: RoleRoutesInit, callers: RouteCallers): Route[] {
  const token = requireToken(init.token);
  const served = new Map<string, { caller: Guard; answer: ReturnType<typeof credentialsHandler> }>();
  for (const [name, role] of init.roles) {
    const caller = role.allowUsers === undefined ? callers.withToken : callers.forRule({ allowUsers: role.allowUsers, tokenGid: init.tokenGid });
    served.set(name, { caller, answer: credentialsHandler(role.tracker, containerBody) });
  }
  // Unknown names are told apart only after the token: no probing for role names without it.
  const knownRole: Guard = (req, params) => {
    const role = served.get(params.name ?? '');
    return role ? role.caller(req, params) : NO_ROLE;
  };
  return [
    {
      methods: ['GET'],
      path: pathPattern(ROUTES.roleCredentials),
      guards: [token, knownRole],
      handler: (_req, res, params) => {
        const role = served.get(params.name ?? '');
        return role ? role.answer(res) : refuse(res, NO_ROLE);
      },
      metricName: ROUTES.roleCredentials,
    },
  ];
}

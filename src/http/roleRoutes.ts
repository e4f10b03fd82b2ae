import { ROUTES } from '../agent/contract.js';
import type { TrackerView } from '../tracker/types.js';
import { refuse } from './answers.js';
import { credentialsHandler } from './agentRoutes.js';
import { containerBody } from './credentialsBody.js';
import type { RouteCallers } from './createAgentServer.js';
import { tokenChecker, type Refusal } from './guards.js';
import { pathPattern, type Guard, type Route } from './routes.js';

export interface ServedRole {
  readonly tracker: TrackerView;
  /** The role's own token (its token file is readable by exactly the role's users). */
  readonly token: string;
  /** Who may use the route besides root and the agent's user (roleTokens.ts: roleAccess). */
  readonly allowUsers: readonly string[];
  /** tokenGroup, only for a role that follows the global rule. */
  readonly tokenGid: number | undefined;
  /** The role has allowUsers of its own; otherwise it is guarded exactly like /v1/credentials. */
  readonly ownRule: boolean;
}

const NO_ROLE: Refusal = { status: 404, code: 'unknown-role', message: 'no such role is configured' };
const UNAUTHORIZED: Refusal = { status: 401, code: 'unauthorized', message: "missing or wrong Authorization token (a role's route takes that role's own token)" };

/**
 * `GET /v1/roles/<name>/credentials`: a named role's credentials on the container protocol.
 * Each role stands on its own: its route takes only the role's token (not the machine role's),
 * then checks the calling user against the role's rule. Answered from the role's tracker with a
 * body prepared once per session; the role is never assumed on the request path.
 */
export interface RoleRoutesInit {
  roles: ReadonlyMap<string, ServedRole>;
  /** The machine role's token: with it, an unknown name is a 404 rather than a 401. */
  machineToken: string;
}

export function roleRoutes(init: RoleRoutesInit, callers: RouteCallers): Route[] {
  const served = new Map<string, { tokenOk: ReturnType<typeof tokenChecker>; caller: Guard; answer: ReturnType<typeof credentialsHandler> }>();
  for (const [name, role] of init.roles) {
    // A role following the global rule keeps the machine route's guard, including where the OS
    // cannot tell the caller (the role's own token is then the boundary).
    const caller = role.ownRule ? callers.forRule({ allowUsers: role.allowUsers, tokenGid: role.tokenGid }) : callers.withToken;
    served.set(name, { tokenOk: tokenChecker(role.token), caller, answer: credentialsHandler(role.tracker, containerBody) });
  }
  const anyToken = [tokenChecker(init.machineToken), ...[...served.values()].map((role) => role.tokenOk)];
  // Unknown names are told apart only for a holder of some token of this agent: no probing for
  // role names without one.
  const token: Guard = (req, params) => {
    const role = served.get(params.name ?? '');
    if (role) return role.tokenOk(req.headers.authorization) ? undefined : UNAUTHORIZED;
    return anyToken.some((ok) => ok(req.headers.authorization)) ? NO_ROLE : UNAUTHORIZED;
  };
  const caller: Guard = (req, params) => {
    const role = served.get(params.name ?? '');
    return role ? role.caller(req, params) : NO_ROLE;
  };
  return [
    {
      methods: ['GET'],
      path: pathPattern(ROUTES.roleCredentials),
      guards: [token, caller],
      handler: (_req, res, params) => {
        const role = served.get(params.name ?? '');
        return role ? role.answer(res) : refuse(res, NO_ROLE);
      },
      metricName: ROUTES.roleCredentials,
    },
  ];
}

import type { ServerResponse } from 'node:http';
import { ROUTES } from '../agent/contract.js';
import type { TrackerView } from '../tracker/types.js';
import { refuse, sendText } from './answers.js';
import { imdsBody } from './credentialsBody.js';
import type { Refusal } from './guards.js';
import type { ImdsTokens } from './imdsTokens.js';
import { credentialsHandler, unavailable } from './agentRoutes.js';
import { pathPrefix, type Guard, type Route } from './routes.js';

export interface ImdsRoutesInit {
  tracker: TrackerView;
  imdsTokens: ImdsTokens;
  /** The calling user's check: IMDS has no other secret; where the platform cannot tell the user, it refuses. */
  callerForImds: Guard;
  /** Role name IMDS lists (the role ARN's last part, else the profile name). */
  roleName: () => string;
}

const NO_METADATA: Refusal = { status: 404, code: 'not-found', message: 'no such metadata path' };
const NO_IMDS_TOKEN: Refusal = { status: 401, code: 'unauthorized', message: 'missing or expired IMDSv2 token' };
const BAD_TTL: Refusal = { status: 400, code: 'bad-ttl', message: 'X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600' };

/**
 * IMDSv2 emulation, the whole table of IMDS's own listener (setting `imdsPort`): nothing else
 * answers there, and none of these answer on the agent's port, so callers without a secret never
 * share an accept queue with token holders (issue 19).
 */
export function imdsRoutes(init: ImdsRoutesInit): Route[] {
  const { tracker, imdsTokens } = init;
  const imdsToken: Guard = (req) => (imdsTokens.valid(req.headers['x-aws-ec2-metadata-token']) ? undefined : NO_IMDS_TOKEN);
  const imdsDocument = credentialsHandler(tracker, imdsBody);
  const listRole = (_req: unknown, res: ServerResponse): number => {
    const role = init.roleName();
    if (!tracker.current()) return refuse(res, unavailable(tracker));
    return sendText(res, role);
  };
  const guards = [init.callerForImds, imdsToken];
  return [
    {
      methods: ['PUT'],
      path: ROUTES.imdsToken,
      guards: [init.callerForImds],
      handler: (req, res) => {
        const ttlText = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
        const ttl = typeof ttlText === 'string' && /^\d{1,5}$/.test(ttlText) ? Number(ttlText) : NaN;
        if (!(ttl >= 1 && ttl <= 21600)) return refuse(res, BAD_TTL);
        return sendText(res, imdsTokens.issue(ttl), { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
      },
      metricName: 'imds-token',
    },
    { methods: ['GET'], path: ROUTES.imdsCredentials, guards, handler: listRole, metricName: 'imds-credentials' },
    { methods: ['GET'], path: ROUTES.imdsCredentials.slice(0, -1), guards, handler: listRole, metricName: 'imds-credentials' },
    {
      methods: ['GET'],
      path: pathPrefix(ROUTES.imdsCredentials),
      guards,
      handler: (_req, res, params) => (params.rest === init.roleName() ? imdsDocument(res) : refuse(res, NO_METADATA)),
      metricName: 'imds-credentials',
    },
    { methods: ['GET'], path: pathPrefix(ROUTES.imdsRoot), guards, handler: (_req, res) => refuse(res, NO_METADATA), metricName: 'imds-other' },
  ];
}

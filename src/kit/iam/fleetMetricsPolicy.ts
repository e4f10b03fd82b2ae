import { usageError } from '../../errors.js';
import type { PolicyDocument } from '../policyDocument.js';
import { METRICS_NAMESPACE, METRICS_NAMESPACE_RULE } from '../../fleetMetrics/metricsNamespace.js';

const VPCE = /^vpce-[0-9a-f]{8,17}$/;

/**
 * The fleet role's permission to publish the agent's fleet metrics (setting metricsNamespace).
 * PutMetricData has no resource-level permissions: the `cloudwatch:namespace` condition is what
 * keeps the role to this one namespace.
 */
export function fleetMetricsPolicy(options: { namespace: string; sourceVpce?: string }): PolicyDocument {
  if (!METRICS_NAMESPACE.test(options.namespace)) throw usageError(`--namespace: "${options.namespace}" is not ${METRICS_NAMESPACE_RULE}`, 'bad-namespace');
  if (options.sourceVpce !== undefined && !VPCE.test(options.sourceVpce)) throw usageError(`--source-vpce: "${options.sourceVpce}" is not a VPC endpoint id like vpce-0123456789abcdef0`, 'bad-vpce');
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AppStreamCredsFleetMetrics',
        Effect: 'Allow',
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': options.namespace, ...(options.sourceVpce ? { 'aws:SourceVpce': options.sourceVpce } : {}) } },
      },
    ],
  };
}

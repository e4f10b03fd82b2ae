import { printableField } from '../../terminalText.js';
import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { ExitCode } from '../../errors.js';
import { formatFindings, formatFindingsJson, hasErrors } from '../../findings.js';
import { lintPolicy } from '../../kit/iam/lintPolicy.js';
import { machineRoleTrust } from '../../kit/iam/machineRoleTrust.js';
import { roleChain } from '../../kit/iam/roleChain.js';
import { fleetMetricsPolicy } from '../../kit/iam/fleetMetricsPolicy.js';
import { renderPolicy } from '../../kit/policyDocument.js';
import { readProcessStdin, readTextInput } from '../../kit/readTextInput.js';

interface TrustOptions {
  sourceAccount?: string;
  sourceArn?: string;
}

interface LintOptions {
  json?: boolean;
}

/** `policy …`: the machine role's IAM documents (trust policy out, permission policy checked). */
export function registerPolicy(program: Command, deps: CommandDeps): void {
  const { ctx, slot } = deps;
  const policy = program
    .command('policy')
    .description("IAM policies for the fleet or image builder's machine role")
    .addHelpText(
      'after',
      '\nExamples:\n  appstream-creds policy machine-role-trust --source-account 123456789012\n' +
        '  appstream-creds policy fleet-metrics --namespace AppStreamCreds\n' +
        '  appstream-creds policy lint role-policy.json\n',
    );

  policy
    .command('machine-role-trust')
    .description('print the trust policy that lets AppStream 2.0 assume the machine role')
    .option('--source-account <id>', 'only AppStream resources in this account (aws:SourceAccount)')
    .option('--source-arn <arn>', 'only this fleet or image builder; wildcards allowed (aws:SourceArn, ArnLike)')
    .addHelpText(
      'after',
      '\nExample:\n  appstream-creds policy machine-role-trust --source-account 123456789012 \\\n' +
        '    --source-arn "arn:aws:appstream:us-east-1:123456789012:fleet/*" > trust.json\n',
    )
    .action(
      runAction(ctx, slot, async (options: TrustOptions) => {
        const trust = machineRoleTrust(options);
        for (const warning of trust.warnings) ctx.io.stderr(`appstream-creds: warning: ${printableField(warning)}\n`);
        ctx.io.stdout(renderPolicy(trust.document));
        return ExitCode.ok;
      }),
    );

  policy
    .command('role-chain')
    .description("print the machine role's permission to assume named roles and each role's trust policy")
    .requiredOption('--machine-role <arn>', "the fleet's or image builder's machine role ARN")
    .requiredOption('--role <arn...>', 'a role the agent assumes (setting roles); repeat for more')
    .option('--source-identity <template>', 'the roles set sourceIdentity (e.g. "{user}"): adds sts:SetSourceIdentity and an sts:SourceIdentity condition')
    .option('--tag-session', 'the roles set tags: adds sts:TagSession')
    .option('--external-id <id>', 'the roles set externalId: adds an sts:ExternalId condition')
    .addHelpText(
      'after',
      '\nPrints {"machineRolePermission": …, "trustPolicies": {"<role ARN>": …}}; IAM needs both halves.\n' +
        '\nExample:\n  appstream-creds policy role-chain --machine-role arn:aws:iam::123456789012:role/FleetMachineRole \\\n' +
        '    --role arn:aws:iam::123456789012:role/ReportingReadOnly --source-identity "{user}" > chain.json\n' +
        '  jq .machineRolePermission chain.json > machine-permission.json\n' +
        "  jq '.trustPolicies[\"arn:aws:iam::123456789012:role/ReportingReadOnly\"]' chain.json > reporting-trust.json\n",
    )
    .action(
      runAction(ctx, slot, async (options: { machineRole: string; role: string[]; sourceIdentity?: string; tagSession?: boolean; externalId?: string }) => {
        const chain = roleChain({ machineRole: options.machineRole, roles: options.role, sourceIdentity: options.sourceIdentity, tagSession: options.tagSession, externalId: options.externalId });
        ctx.io.stdout(`${JSON.stringify(chain, null, 2)}\n`);
        return ExitCode.ok;
      }),
    );

  policy
    .command('fleet-metrics')
    .description("print the fleet role's permission to publish the agent's fleet metrics (setting metricsNamespace)")
    .requiredOption('--namespace <ns>', 'the CloudWatch namespace the agents publish to (setting metricsNamespace)')
    .option('--source-vpce <id>', 'also require the calls to come through this VPC endpoint (aws:SourceVpce)')
    .addHelpText(
      'after',
      '\nPutMetricData has no resource-level permissions, so the statement names Resource "*" and is\n' +
        'scoped by its cloudwatch:namespace condition; `policy lint` accepts it.\n' +
        '\nExample:\n  appstream-creds policy fleet-metrics --namespace AppStreamCreds > fleet-metrics.json\n' +
        '  aws iam put-role-policy --role-name FleetMachineRole --policy-name appstream-creds-fleet-metrics \\\n' +
        '    --policy-document file://fleet-metrics.json\n',
    )
    .action(
      runAction(ctx, slot, async (options: { namespace: string; sourceVpce?: string }) => {
        ctx.io.stdout(renderPolicy(fleetMetricsPolicy(options)));
        return ExitCode.ok;
      }),
    );

  policy
    .command('lint')
    .description("check a machine role's permission policy, or a role's trust policy, against least privilege (exit 6 on errors)")
    .argument('<file>', 'the policy JSON file, or - for stdin')
    .option('--json', 'print {findings, errors, warnings} as JSON')
    .addHelpText('after', '\nExample:\n  appstream-creds policy lint role-policy.json --json\n')
    .action(
      runAction(ctx, slot, async (file: string, options: LintOptions) => {
        const text = await readTextInput(file, ctx.cwd, readProcessStdin, 'policy file');
        const findings = lintPolicy(text);
        ctx.io.stdout(options.json ? formatFindingsJson(findings) : formatFindings(findings, file));
        return hasErrors(findings) ? ExitCode.checkFailed : ExitCode.ok;
      }),
    );
}

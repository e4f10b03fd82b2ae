import { printableField } from '../../terminalText.js';
import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { ExitCode } from '../../errors.js';
import { formatFindings, formatFindingsJson, hasErrors } from '../../findings.js';
import { lintPolicy } from '../../kit/iam/lintPolicy.js';
import { machineRoleTrust } from '../../kit/iam/machineRoleTrust.js';
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
    .command('lint')
    .description("check a machine role's permission policy against least privilege (exit 6 on errors)")
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

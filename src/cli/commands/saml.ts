import type { Command } from 'commander';
import type { CommandDeps } from '../commandDeps.js';
import { runAction } from '../runAction.js';
import { ExitCode, usageError } from '../../errors.js';
import { parseDuration } from '../../config/duration.js';
import { formatFindings, formatFindingsJson, hasErrors } from '../../findings.js';
import type { IdpMetadata } from '../../kit/saml/idpMetadata.js';
import { renderPolicy } from '../../kit/policyDocument.js';
import { readProcessStdin, readTextInput } from '../../kit/readTextInput.js';
import { isAppStreamRegion } from '../../kit/regions.js';
import { relayState } from '../../kit/saml/relayState.js';
import { decodeSamlInput } from '../../kit/saml/samlInput.js';
import { samlTrustPolicy, streamPolicy } from '../../kit/saml/samlPolicies.js';

interface TrustOptions {
  providerArn: string;
  entitlements?: boolean;
}

interface StackOptions {
  region: string;
  account: string;
  stack: string;
}

interface RelayOptions extends StackOptions {
  app?: string;
  desktop?: boolean;
  fips?: boolean;
  json?: boolean;
}

interface CheckOptions {
  idpMetadata?: string;
  stack?: string;
  domainJoined?: boolean;
  at?: string;
  skew: string;
  json?: boolean;
}

/** `saml …`: SAML 2.0 federation for AppStream 2.0 stacks (AppStream guide, "Setting Up SAML"). */
export function registerSaml(program: Command, deps: CommandDeps): void {
  const { ctx, slot } = deps;
  const saml = program
    .command('saml')
    .description('SAML 2.0 federation for AppStream 2.0 stacks: IAM documents, relay state, response check')
    .addHelpText(
      'after',
      '\nExamples:\n  appstream-creds saml relay-state --region us-east-1 --account 123456789012 --stack Sales\n' +
        '  appstream-creds saml check response.b64 --idp-metadata idp.xml\n',
    );

  saml
    .command('trust-policy')
    .description("print the federation role's trust policy (sts:AssumeRoleWithSAML, persistent subjects only)")
    .requiredOption('--provider-arn <arn>', 'the IAM SAML provider, arn:aws:iam::ACCOUNT:saml-provider/NAME')
    .option('--entitlements', 'also allow sts:TagSession, which application entitlements need')
    .addHelpText(
      'after',
      '\nExample:\n  appstream-creds saml trust-policy \\\n' +
        '    --provider-arn arn:aws:iam::123456789012:saml-provider/Okta --entitlements\n',
    )
    .action(
      runAction(ctx, slot, async (options: TrustOptions) => {
        ctx.io.stdout(renderPolicy(samlTrustPolicy(options)));
        return ExitCode.ok;
      }),
    );

  saml
    .command('stream-policy')
    .description("print the federation role's inline policy: appstream:Stream on one stack, as the SAML user")
    .requiredOption('--region <region>', 'the stack\'s region, e.g. us-east-1')
    .requiredOption('--account <id>', 'the stack\'s AWS account (12 digits; hyphens are removed)')
    .requiredOption('--stack <name>', 'the stack name, exactly as in the console (case-sensitive)')
    .addHelpText('after', '\nExample:\n  appstream-creds saml stream-policy --region eu-west-1 --account 1234-5678-9012 --stack Sales\n')
    .action(
      runAction(ctx, slot, async (options: StackOptions) => {
        const document = streamPolicy(options);
        ctx.io.stderr(`appstream-creds: note: stack names are case-sensitive; "${options.stack}" must match the console exactly\n`);
        if (!isAppStreamRegion(options.region.trim())) {
          ctx.io.stderr(`appstream-creds: warning: AppStream 2.0 is not known to be offered in ${options.region}\n`);
        }
        ctx.io.stdout(renderPolicy(document));
        return ExitCode.ok;
      }),
    );

  saml
    .command('relay-state')
    .description("print the relay state URL that sends federated users to the stack")
    .requiredOption('--region <region>', 'the stack\'s region')
    .requiredOption('--account <id>', 'the stack\'s AWS account (12 digits; hyphens are removed)')
    .requiredOption('--stack <name>', 'the stack name (case-sensitive)')
    .option('--app <name>', 'start this application right away (its name in the image)')
    .option('--desktop', 'open the desktop view (app=Desktop)')
    .option('--fips', 'use the FIPS endpoint (us-east-1, us-west-2, us-gov-west-1)')
    .option('--json', 'print the URL and its parts as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  appstream-creds saml relay-state --region us-east-1 --account 123456789012 --stack Sales --app Excel\n' +
        '  appstream-creds saml relay-state --region us-gov-west-1 --account 123456789012 --stack Ops --fips\n',
    )
    .action(
      runAction(ctx, slot, async (options: RelayOptions) => {
        const relay = relayState(options);
        ctx.io.stdout(options.json ? `${JSON.stringify(relay, null, 2)}\n` : `${relay.url}\n`);
        return ExitCode.ok;
      }),
    );

  saml
    .command('check')
    .description('check a SAMLResponse the way AWS will: signature, audience, times, NameID and attributes (exit 6 on errors)')
    .argument('<response>', 'file holding the SAMLResponse (base64 as posted, the form body, or XML), or - for stdin')
    .option('--idp-metadata <file>', "the IdP's metadata XML; without it the signature cannot be verified")
    .option('--stack <name>', 'compare with the stack in a captured RelayState')
    .option('--domain-joined', 'the fleet is domain-joined: NameID must be DOMAIN\\user or user@domain')
    .option('--at <time>', 'check as of this ISO time instead of now, e.g. 2024-05-01T12:00:00Z')
    .option('--skew <duration>', 'allowed clock difference', '5m')
    .option('--json', 'print {findings, errors, warnings} as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  appstream-creds saml check saml-response.txt --idp-metadata idp-metadata.xml --json\n' +
        '\nThe response itself is never printed; findings name each problem and its fix.\n',
    )
    .action(
      runAction(ctx, slot, async (response: string, options: CheckOptions) => {
        const skewMs = parseDuration(options.skew, '--skew');
        const now = options.at === undefined ? new Date() : parseAt(options.at);
        // The XML and signature libraries load only here, so the other commands start fast.
        const { readIdpMetadata } = await import('../../kit/saml/idpMetadata.js');
        const { checkSamlResponse } = await import('../../kit/saml/checkSamlResponse.js');
        let metadata: IdpMetadata | undefined;
        if (options.idpMetadata !== undefined) {
          const xml = await readTextInput(options.idpMetadata, ctx.cwd, readProcessStdin, '--idp-metadata');
          metadata = readIdpMetadata(xml, options.idpMetadata);
        }
        const input = decodeSamlInput(await readTextInput(response, ctx.cwd, readProcessStdin, 'SAML response'));
        const findings = checkSamlResponse(input, {
          now,
          skewMs,
          ...(metadata ? { metadata } : {}),
          ...(options.stack !== undefined ? { stack: options.stack } : {}),
          ...(options.domainJoined ? { domainJoined: true } : {}),
        });
        ctx.io.stdout(options.json ? formatFindingsJson(findings) : formatFindings(findings, 'SAML response'));
        return hasErrors(findings) ? ExitCode.checkFailed : ExitCode.ok;
      }),
    );
}

function parseAt(text: string): Date {
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(at.getTime())) {
    throw usageError(`--at: "${text}" is not an ISO time such as 2024-05-01T12:00:00Z`, 'bad-time');
  }
  return at;
}

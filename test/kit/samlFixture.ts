/**
 * Builds and signs SAML responses the way an IdP does, with a key pair made at test time, so
 * `saml check` is exercised against real XML signatures and nothing secret lives in the repo.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SignedXml } from 'xml-crypto';

export interface IdpKeys {
  dir: string;
  keyPem: string;
  certPem: string;
  /** The certificate's base64 body, as metadata carries it. */
  certBase64: string;
  cleanup(): void;
}

export function makeIdpKeys(): IdpKeys {
  const dir = mkdtempSync(path.join(tmpdir(), 'saml-fixture-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=test-idp', '-days', '1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  const certPem = readFileSync(certFile, 'utf8');
  return {
    dir,
    keyPem: readFileSync(keyFile, 'utf8'),
    certPem,
    certBase64: certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const IDP_ENTITY_ID = 'https://idp.example.test/metadata';

export function idpMetadataXml(certBase64: string, entityId = IDP_ENTITY_ID): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityId}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.test/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
}

/** The instant every fixture is issued at; tests check with `--at` so they never depend on the clock. */
export const ISSUED_AT = new Date('2030-01-01T12:00:00Z');
const minutes = (n: number): string => new Date(ISSUED_AT.getTime() + n * 60_000).toISOString();

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/AppStreamSaml';
export const PROVIDER_ARN = 'arn:aws:iam::123456789012:saml-provider/ExampleIdP';

export interface AssertionFields {
  assertionId: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string;
  audience: string;
  recipient: string;
  notBefore: string;
  notOnOrAfter: string;
  roles: string[];
  roleSessionName: string;
  sessionDuration?: string;
}

export const validFields = (): AssertionFields => ({
  assertionId: '_a1b2c3d4e5f60718293a4b5c6d7e8f90',
  issuer: IDP_ENTITY_ID,
  nameId: 'jdoe',
  nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  audience: 'urn:amazon:webservices',
  recipient: 'https://signin.aws.amazon.com/saml',
  notBefore: minutes(-5),
  notOnOrAfter: minutes(5),
  roles: [`${ROLE_ARN},${PROVIDER_ARN}`],
  roleSessionName: 'jdoe@example.com',
  sessionDuration: '3600',
});

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

export function assertionXml(f: AssertionFields): string {
  const attribute = (name: string, values: string[]): string =>
    `<saml:Attribute Name="${name}">${values.map((v) => `<saml:AttributeValue>${escape(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
  return (
    `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${f.assertionId}" Version="2.0" IssueInstant="${ISSUED_AT.toISOString()}">` +
    `<saml:Issuer>${escape(f.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${f.nameIdFormat}">${escape(f.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData NotOnOrAfter="${f.notOnOrAfter}" Recipient="${f.recipient}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${f.notBefore}" NotOnOrAfter="${f.notOnOrAfter}">` +
    `<saml:AudienceRestriction><saml:Audience>${escape(f.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${ISSUED_AT.toISOString()}"><saml:AuthnContext>` +
    `<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>` +
    attribute('https://aws.amazon.com/SAML/Attributes/Role', f.roles) +
    attribute('https://aws.amazon.com/SAML/Attributes/RoleSessionName', [f.roleSessionName]) +
    (f.sessionDuration === undefined ? '' : attribute('https://aws.amazon.com/SAML/Attributes/SessionDuration', [f.sessionDuration])) +
    `</saml:AttributeStatement></saml:Assertion>`
  );
}

export function responseXml(assertion: string): string {
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r0123456789abcdef" Version="2.0" ` +
    `IssueInstant="${ISSUED_AT.toISOString()}" Destination="https://signin.aws.amazon.com/saml">` +
    `<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${IDP_ENTITY_ID}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    assertion +
    `</samlp:Response>`
  );
}

/** Signs the Assertion as IdPs do: enveloped, exclusive c14n, RSA-SHA256, Signature after Issuer. */
export function signAssertion(xml: string, keys: IdpKeys): string {
  const signer = new SignedXml({
    privateKey: keys.keyPem,
    publicCert: keys.certPem,
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });
  signer.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' },
  });
  return signer.getSignedXml();
}

/** Signs the whole Response instead, the other placement IdPs use. */
export function signResponse(xml: string, keys: IdpKeys): string {
  const signer = new SignedXml({
    privateKey: keys.keyPem,
    publicCert: keys.certPem,
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });
  signer.addReference({
    xpath: "/*[local-name(.)='Response']",
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: "/*[local-name(.)='Response']/*[local-name(.)='Issuer']", action: 'after' },
  });
  return signer.getSignedXml();
}

/** A signed response built from the valid fields with `change` applied before signing. */
export function signedResponse(keys: IdpKeys, change: (f: AssertionFields) => void = () => {}): string {
  const fields = validFields();
  change(fields);
  return signAssertion(responseXml(assertionXml(fields)), keys);
}

export const toBase64 = (xml: string): string => Buffer.from(xml, 'utf8').toString('base64');

/** Writes the metadata and returns a helper that writes response files beside it. */
export function fixtureFiles(keys: IdpKeys): { metadata: string; write(name: string, content: string): string } {
  const metadata = path.join(keys.dir, 'idp-metadata.xml');
  writeFileSync(metadata, idpMetadataXml(keys.certBase64));
  return {
    metadata,
    write(name, content) {
      const file = path.join(keys.dir, name);
      writeFileSync(file, content);
      return file;
    },
  };
}

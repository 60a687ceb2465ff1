// The text slapd reads: an Active-Directory-like schema and a slapd.conf. Kept apart from the
// launcher so the ACLs and limits that the tests depend on are in one reviewable place.

/** The attributes an ADC may be told to keep OTP secrets in (`-OTPSecret`). */
export const OTP_ATTRIBUTES = ['userParameters', ...Array.from({ length: 15 }, (_, i) => `extensionAttribute${i + 1}`)] as const;
export type OtpAttributeName = (typeof OTP_ATTRIBUTES)[number];

// AD's own OIDs so that tools matching on them see what they would see on a domain controller.
// extensionAttribute1..5 are 1.2.840.113556.1.2.423..427, 6..15 are 1.2.840.113556.1.2.600..609.
function extensionAttributeOid(n: number): string {
  return n <= 5 ? `1.2.840.113556.1.2.${422 + n}` : `1.2.840.113556.1.2.${594 + n}`;
}

// Debian's msuser.schema has no equality rules (compare-and-swap and filters would not work) and
// a class layout unlike AD's, hence this one. The OTP attributes are caseExact and SINGLE-VALUE as
// on AD: a base64 value differing only in case is a different value, and a second add must fail (19).
// memberOf is deliberately absent: the memberof overlay defines it.
export function adSchema(): string {
  const ext = Array.from({ length: 15 }, (_, i) => i + 1)
    .map(
      (n) => `attributetype ( ${extensionAttributeOid(n)} NAME 'extensionAttribute${n}'
  EQUALITY caseExactMatch SUBSTR caseExactSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{1024} SINGLE-VALUE )`,
    )
    .join('\n\n');
  return `# Active-Directory-like schema for the adc-cutover lab (generated; do not edit)

attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} SINGLE-VALUE )

attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
  EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{1024} SINGLE-VALUE )

attributetype ( 1.2.840.113556.1.4.138 NAME 'userParameters'
  EQUALITY caseExactMatch SUBSTR caseExactSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32767} SINGLE-VALUE )

${ext}

attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )

attributetype ( 1.2.840.113556.1.4.782 NAME 'objectCategory'
  EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )

attributetype ( 1.2.840.113556.1.4.750 NAME 'groupType'
  EQUALITY integerMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )

objectclass ( 1.2.840.113556.1.5.9 NAME 'user'
  SUP organizationalPerson STRUCTURAL
  MUST sAMAccountName
  MAY ( userPrincipalName $ userParameters $ userAccountControl $ objectCategory $
        displayName $ givenName $ mail $
        ${Array.from({ length: 15 }, (_, i) => `extensionAttribute${i + 1}`).join(' $ ')} ) )

objectclass ( 1.2.840.113556.1.5.8 NAME 'group'
  SUP top STRUCTURAL
  MUST cn
  MAY ( member $ sAMAccountName $ groupType $ description $ objectCategory ) )
`;
}

export interface SlapdConfOptions {
  modulePath: string;
  schemaDir: string;
  adSchemaFile: string;
  pidFile: string;
  argsFile: string;
  dbDir: string;
  suffix: string;
  rootDN: string;
  /** An {SSHA} hash, never the password itself. */
  rootPasswordHash: string;
  serviceDN: string;
  usersDN: string;
  tls: { certFile: string; keyFile: string; caFile: string };
  /** This server keeps a replication log (syncprov) that replicas read from. */
  provider?: boolean;
  /**
   * This server is a read-only replica of another: it pulls every change with syncrepl
   * (refreshAndPersist). The lab points it at a relay that delays what the provider sends, so a
   * change reaches it late, as an AD domain controller in another site sees it only after
   * replication (src/lab/sim/relay.ts).
   */
  replicaOf?: { url: string; bindDN: string; password: string; timeoutSec: number };
}

function replicationConf(o: SlapdConfOptions): string {
  if (o.replicaOf) {
    const r = o.replicaOf;
    // retry: a replica started before its provider answers keeps trying every second.
    return `
index entryCSN,entryUUID eq
syncrepl rid=001 provider=${r.url} type=refreshAndPersist
  searchbase="${o.suffix}" scope=sub schemachecking=off
  bindmethod=simple binddn="${r.bindDN}" credentials="${r.password}"
  retry="1 +" timeout=${r.timeoutSec} network-timeout=${r.timeoutSec}
# Clients that try to write here are sent to the provider, as a read-only domain controller does.
updateref ${r.url}
`;
  }
  if (o.provider) {
    return `
index entryCSN,entryUUID eq
overlay syncprov
syncprov-checkpoint 100 1
`;
  }
  return '';
}

export function slapdConf(o: SlapdConfOptions): string {
  const otpAttrs = OTP_ATTRIBUTES.join(',');
  return `# slapd.conf for the adc-cutover lab (generated; do not edit)
include ${o.schemaDir}/core.schema
include ${o.schemaDir}/cosine.schema
include ${o.schemaDir}/inetorgperson.schema
include ${o.adSchemaFile}

modulepath ${o.modulePath}
moduleload back_mdb
moduleload memberof
${o.provider ? 'moduleload syncprov\n' : ''}
pidfile ${o.pidFile}
argsfile ${o.argsFile}

# An ADC binds with its service account; anonymous readers are refused as on AD.
disallow bind_anon

TLSCACertificateFile ${o.tls.caFile}
TLSCertificateFile ${o.tls.certFile}
TLSCertificateKeyFile ${o.tls.keyFile}

database mdb
suffix "${o.suffix}"
rootdn "${o.rootDN}"
rootpw ${o.rootPasswordHash}
directory ${o.dbDir}
# A lab directory is disposable: skip fsync so seeding 10,000 users takes seconds, not minutes.
dbnosync
maxsize 4294967296

index objectClass eq
index cn,sAMAccountName,userPrincipalName eq,sub
index member eq
${replicationConf(o)}
# The default limit (500) also caps the total of a paged search for every non-root bind, which
# would hide users from the re-encryption scan: page size stays capped, the total does not.
sizelimit size.soft=1000 size.hard=unlimited size.prtotal=unlimited

${
  o.replicaOf
    ? `# A replica takes memberOf as replicated (the module stays loaded: it defines the attribute).
`
    : `overlay memberof
memberof-group-oc group
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
`
}
# The service account may change the OTP attributes under the users OU and nothing else; users
# (and everyone else) may not even read them, as an ADC keeps them away from end users.
access to dn.subtree="${o.usersDN}" attrs=${otpAttrs}
  by dn.exact="${o.serviceDN}" write
  by * none

access to attrs=${otpAttrs}
  by dn.exact="${o.serviceDN}" read
  by * none

access to attrs=userPassword
  by self =x
  by anonymous auth
  by * none

access to *
  by dn.exact="${o.serviceDN}" read
  by users read
  by * none
`;
}

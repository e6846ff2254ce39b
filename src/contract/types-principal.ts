// Types of SoPrincipal.svc, WP88 (tns namespace, plus DSAParameters in the dsa namespace).
import type { TypeDef } from './model.js';
import { arrayOf, dictionary } from './types-common.js';

const str = (name: string) => ({ name, type: 'xs:string', nillable: true }) as const;
const int = (name: string) => ({ name, type: 'xs:int' }) as const;
const bool = (name: string) => ({ name, type: 'xs:boolean' }) as const;
const date = (name: string) => ({ name, type: 'xs:dateTime' }) as const;

export const PRINCIPAL_TYPES: readonly TypeDef[] = [
  {
    kind: 'complex',
    name: 'SoSystemInfoCarrier',
    base: 'tns:Carrier',
    elements: [
      { name: 'License', type: 'tns:LicenseInfo', nillable: true },
      str('WarningEnglish'), str('WarningResource'), str('BranchName'), str('BuildLabel'),
      str('AssemblyVersion'), date('AccumulatedNextCheckDate'), str('FileVersion'), str('Description'),
      int('DaysUntilNetServerExpiry'),
      { name: 'BuildType', type: 'tns:NetServerBuildType' },
      int('DatabaseVersion'), bool('IsUnicode'), str('CompanyName'), int('CompanyId'),
      str('DatabaseType'), str('DatabaseMinor'), str('DatabaseName'), bool('IsOnTravel'), bool('IsSatellite'),
    ],
  },
  {
    kind: 'complex',
    name: 'LicenseInfo',
    elements: [
      str('CompanyName'), str('SerialNr'), str('OwnerName'), str('OwnerDescription'),
      date('NextCheckDate'), date('MaintenanceDate'), date('AdminWarningDate'), date('ExpiryDate'),
      date('GraceDate'), int('ExtraFlags'), str('LicenseUrl'), str('LicenseVersion'), int('DeploymentType'),
      str('ProductType'), str('ProductDescription'),
      { name: 'ModuleLicenses', type: 'tns:ArrayOfModuleLicense', nillable: true },
      { name: 'PublicKey', type: 'tns:SignedPublicKey', nillable: true },
      str('Signature'),
    ],
  },
  arrayOf('ModuleLicense'),
  {
    kind: 'complex',
    name: 'ModuleLicense',
    elements: [
      str('OwnerName'), str('ModuleName'), str('ModuleDescription'), str('ModuleTooltip'), str('ModuleVersion'),
      { name: 'LicenseType', type: 'tns:LicenseType' },
      bool('Unrestricted'),
      { name: 'AllowedUserType', type: 'tns:UserType' },
      int('NumberOfLicenses'), int('ExtraFlags'), str('ExtraInfo'), int('SortOrder'), bool('IsHidden'),
      str('PrerequisiteModuleName'), str('Signature'),
    ],
  },
  {
    kind: 'enum',
    name: 'LicenseType',
    actualType: 'short',
    values: [{ value: 'Unknown' }, { value: 'SiteLicense' }, { value: 'SatelliteLicense' }, { value: 'UserLicense' }],
  },
  {
    kind: 'complex',
    name: 'SignedPublicKey',
    elements: [
      str('OwnerName'), date('SignDate'), date('ExpiryDate'),
      { name: 'Key', type: 'dsa:DSAParameters' },
      str('Signature'),
    ],
  },
  {
    kind: 'enum',
    name: 'NetServerBuildType',
    values: ['Feature', 'Stable', 'Alpha', 'Beta', 'ReleaseCandidate', 'Release'].map((value) => ({ value })),
  },
  {
    kind: 'complex',
    name: 'SoPrincipalCarrier',
    elements: [
      { name: 'UserType', type: 'tns:UserType' },
      str('Associate'), int('AssociateId'), bool('IsPerson'), int('PersonId'), int('CountryId'),
      int('HomeCountryId'), int('ContactId'), int('GroupId'), int('BusinessId'), int('CategoryId'),
      int('ContactOwner'), int('RoleId'), str('RoleName'), str('RoleDescription'),
      { name: 'RoleType', type: 'tns:RoleType' },
      { name: 'Licenses', type: 'tns:ArrayOfGrantedModuleLicense', nillable: true },
      str('FullName'), str('EMailAddress'),
      { name: 'FunctionRights', type: 'arr:ArrayOfstring', nillable: true },
      int('EjUserId'), int('EjAccessLevel'),
      { name: 'EjUserStatus', type: 'tns:EjUserStatus' },
      { name: 'ProvidedCredentials', type: 'tns:ArrayOfProvidedCredential', nillable: true },
      { name: 'SecondaryGroups', type: 'arr:ArrayOfint', nillable: true },
      str('DatabaseContextIdentifier'),
    ],
  },
  {
    kind: 'enum',
    name: 'RoleType',
    actualType: 'short',
    values: [{ value: 'Employee' }, { value: 'ExternalUser' }, { value: 'Anonymous' }, { value: 'System' }],
  },
  arrayOf('GrantedModuleLicense'),
  {
    kind: 'complex',
    name: 'GrantedModuleLicense',
    base: 'tns:Carrier',
    elements: [
      int('OwnerId'), str('OwnerName'), str('OwnerDescription'), int('ModuleId'), str('Name'),
      str('Description'), str('Version'),
      { name: 'LicenseType', type: 'tns:LicenseType' },
      int('ExtraFlags'), int('SortOrder'), int('LicenseNumber'), bool('IsHidden'), bool('IsUnrestricted'),
      date('ExpiryDate'),
    ],
  },
  {
    kind: 'enum',
    name: 'EjUserStatus',
    values: [
      { value: 'StatusNone' }, { value: 'StatusNormal' }, { value: 'StatusNotAvailable' },
      { value: 'StatusDeleted' }, { value: 'StatusReadOnly' }, { value: 'StatusSpm' },
      { value: 'StatusSystem', number: 127 },
    ],
  },
  arrayOf('ProvidedCredential'),
  {
    kind: 'complex',
    name: 'ProvidedCredential',
    elements: [str('Type'), str('SearchName'), str('DisplayName'), int('CredentialId')],
  },
  dictionary('AuthenticationGenericData', 'AuthenticationGenericDataKeyValuePair', 'xs:string'),
];

/** The System.Security.Cryptography data contract namespace (SignedPublicKey.Key). */
export const DSA_TYPES: readonly TypeDef[] = [
  {
    kind: 'complex',
    name: 'DSAParameters',
    isValueType: true,
    elements: [
      { name: 'Counter', type: 'xs:int', required: true },
      ...['G', 'J', 'P', 'Q', 'Seed', 'Y'].map(
        (name) => ({ name, type: 'xs:base64Binary', required: true, nillable: true }) as const,
      ),
    ],
  },
];
